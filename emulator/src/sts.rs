//! AWS STS (awsQuery: form-encoded `POST /`, XML answers): AssumeRole and
//! GetCallerIdentity.
//!
//! Limits from botocore's `sts` 2011-06-15 model: `RoleArn` 20..=2048
//! characters, `RoleSessionName` 2..=64 `[\w+=,.@-]*`, `ExternalId`
//! 2..=1224 `[\w+=,.@:\/-]*`, `DurationSeconds` 900..=43200.

use crate::identity::{Caller, Session};
use crate::model::Fault;
use crate::reply::Reply;
use crate::state::State;
use crate::sts_wire::{Validation, error, esc, ok};
use crate::util::{iso8601_seconds, now_secs, parse_query};

/// Every member role's maximum session duration: IAM's default
/// `MaxSessionDuration` (one hour), which is also the limit of role chaining
/// (the administrator's identity is itself a role session).
const MAX_SESSION_SECONDS: i64 = 3600;

/// DurationSeconds over the role's maximum. Confirmed (kreuzwerker/awsu #27,
/// prowler-cloud/prowler #923: `ValidationError`, 400).
pub(crate) const DURATION_EXCEEDS: &str =
    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.";

/// The form parameters of a request.
pub(crate) fn params(body: &[u8]) -> Vec<(String, String)> {
    parse_query(std::str::from_utf8(body).ok())
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether a form body names an `Action` (an awsQuery request).
pub(crate) fn is_query(body: &[u8]) -> bool {
    param(&params(body), "Action").is_some()
}

/// The operation a request's `Action` names.
pub(crate) fn op_name(body: &[u8]) -> &'static str {
    match param(&params(body), "Action") {
        Some("AssumeRole") => "AssumeRole",
        Some("GetCallerIdentity") => "GetCallerIdentity",
        _ => "Unknown",
    }
}

/// The account of AssumeRole's `RoleArn` (for recording and per-account faults).
pub(crate) fn accounts_in(op: &str, body: &[u8]) -> Vec<String> {
    let ps = params(body);
    match (op, param(&ps, "RoleArn").and_then(|a| a.split(':').nth(4))) {
        ("AssumeRole", Some(account)) if !account.is_empty() => vec![account.to_string()],
        _ => Vec::new(),
    }
}

/// `User: <caller> is not authorized to perform: sts:<action> on resource:
/// <arn>`: the real text (karpenter-provider-aws #4680, data-dot-all #1873).
fn access_denied(caller: &Caller, action: &str, resource: &str, request_id: &str) -> Reply {
    let message = format!(
        "User: {} is not authorized to perform: sts:{action} on resource: {resource}",
        caller.arn
    );
    error(403, "AccessDenied", &message, request_id)
}

/// Missing SigV4 `Authorization`. UNCONFIRMED wording (the common-errors
/// code for a request without credentials).
pub(crate) fn unsigned(request_id: &str) -> Reply {
    error(
        403,
        "MissingAuthenticationToken",
        "Request is missing Authentication Token",
        request_id,
    )
}

/// An injected fault. `Throttling` "Rate exceeded" with HTTP 400 is STS's
/// real throttling answer (jlevers/selling-partner-api #278); `InternalFailure`
/// is the common 500 code (its text from AWS's common-errors list).
pub(crate) fn fault_reply(
    fault: Fault,
    caller: &Caller,
    op: &str,
    body: &[u8],
    rid: &str,
) -> Reply {
    match fault {
        Fault::Throttle => error(400, "Throttling", "Rate exceeded", rid),
        Fault::AccessDenied => {
            let ps = params(body);
            let resource = param(&ps, "RoleArn").unwrap_or("*");
            access_denied(caller, op, resource, rid)
        }
        _ => error(
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
            rid,
        ),
    }
}

pub(crate) fn execute(st: &mut State, caller: &Caller, body: &[u8], request_id: &str) -> Reply {
    let ps = params(body);
    match param(&ps, "Action") {
        Some("GetCallerIdentity") => {
            let result = format!(
                "    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n",
                esc(&caller.arn),
                esc(&caller.user_id),
                caller.account
            );
            ok("GetCallerIdentity", &result, request_id)
        }
        Some("AssumeRole") => assume_role(st, caller, &ps, request_id),
        other => error(
            400,
            "InvalidAction",
            &format!(
                "Could not find operation {} for version 2011-06-15",
                other.unwrap_or("")
            ),
            request_id,
        ),
    }
}

/// `arn:<partition>:iam::<account>:role/<path and name>`.
fn parse_role_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let mut it = arn.splitn(6, ':');
    let (prefix, partition, service, region, account, resource) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    let path_name = resource.strip_prefix("role/")?;
    (prefix == "arn" && service == "iam" && region.is_empty() && !path_name.is_empty())
        .then_some((partition, account, path_name))
}

fn assume_role(st: &mut State, caller: &Caller, ps: &[(String, String)], rid: &str) -> Reply {
    let arn = param(ps, "RoleArn");
    let session = param(ps, "RoleSessionName");
    let external = param(ps, "ExternalId");
    let duration = param(ps, "DurationSeconds");
    let mut v = Validation::default();
    match arn {
        Some(a) => v.string(a, "roleArn", (20, 2048), None),
        None => v.null("roleArn"),
    }
    match session {
        Some(s) => v.string(
            s,
            "roleSessionName",
            (2, 64),
            Some(("[\\w+=,.@-]*", "+=,.@-")),
        ),
        None => v.null("roleSessionName"),
    }
    if let Some(e) = external {
        v.string(
            e,
            "externalId",
            (2, 1224),
            Some(("[\\w+=,.@:\\/-]*", "+=,.@:/-")),
        );
    }
    let seconds = match duration.map(str::parse::<i64>) {
        None => None,
        Some(Ok(n)) => {
            v.int(n, "durationSeconds", (900, 43200));
            Some(n)
        }
        // Not a number (the SDK never sends one): UNCONFIRMED code and text.
        Some(Err(_)) => {
            return error(
                400,
                "MalformedInput",
                "Invalid value for parameter DurationSeconds",
                rid,
            );
        }
    };
    if let Some(r) = v.into_error(rid) {
        return r;
    }
    let (Some(arn), Some(session)) = (arn, session) else {
        unreachable!("validated above")
    };
    // An ARN that is not an ARN at all: the text seen for AssumeRoleWithSAML
    // (physera/onelogin-aws-cli #12); for AssumeRole UNCONFIRMED.
    if !arn.starts_with("arn:") || arn.split(':').count() < 6 {
        return error(400, "ValidationError", "Request ARN is invalid", rid);
    }
    // A role that does not exist, or whose trust policy's sts:ExternalId
    // condition the request does not meet, is the same AccessDenied (AWS does
    // not say which). A role without an external ID accepts any or none.
    let role = parse_role_arn(arn).and_then(|(partition, account, path_name)| {
        let role = st.iam.role(account, path_name)?;
        let matches = role
            .external_id
            .as_deref()
            .is_none_or(|want| external == Some(want));
        matches.then(|| (partition.to_string(), account.to_string(), role.clone()))
    });
    let Some((partition, account, role)) = role else {
        return access_denied(caller, "AssumeRole", arn, rid);
    };
    let seconds = seconds.unwrap_or(MAX_SESSION_SECONDS);
    if seconds > MAX_SESSION_SECONDS {
        return error(400, "ValidationError", DURATION_EXCEEDS, rid);
    }
    st.iam.seq += 1;
    let n = st.iam.seq;
    let access_key_id = format!("ASIA{n:016X}");
    let s = Session {
        account,
        partition,
        role_name: role.name().to_string(),
        role_id: role.role_id.clone(),
        session_name: session.to_string(),
    };
    let result = format!(
        "    <AssumedRoleUser>\n      <AssumedRoleId>{}:{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{access_key_id}</AccessKeyId>\n      <SecretAccessKey>emulatorSecret{n:026}</SecretAccessKey>\n      <SessionToken>IQoJb3JpZ2luX2VjEMULATOR{n:016X}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n",
        s.role_id,
        esc(&s.session_name),
        esc(&s.arn()),
        iso8601_seconds(now_secs() + seconds)
    );
    st.iam.sessions.insert(access_key_id, s);
    ok("AssumeRole", &result, rid)
}
