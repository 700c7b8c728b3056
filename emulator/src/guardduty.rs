//! GuardDuty (restJson1) operations.

use http::Method;
use serde_json::{Value, json};

use crate::model::{Fault, Member};
use crate::reply::Reply;
use crate::state::State;
use crate::util::{now_iso8601, parse_query, percent_decode};

const CT: &str = "application/json";

pub(crate) const NOT_A_MEMBER: &str =
    "The request is rejected because the input account is not a member of the current account.";
pub(crate) const ALREADY_A_MEMBER: &str =
    "The request is rejected because the input account is already a member of the current account.";
pub(crate) const CANNOT_ADD_SELF: &str =
    "The request is rejected because the current account cannot be added as a member of itself.";
const NOT_OWNED: &str =
    "The request is rejected because the input detectorId is not owned by the current account.";

/// A routed GuardDuty request.
#[derive(Debug, Clone)]
pub(crate) struct GdRoute {
    pub(crate) op: &'static str,
    pub(crate) detector: Option<String>,
}

pub(crate) fn route(method: &Method, path: &str) -> Option<GdRoute> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let detector = segs.get(1).map(|s| percent_decode(s));
    let op = match (method, segs.as_slice()) {
        (&Method::GET, ["detector"]) => "ListDetectors",
        (&Method::POST, ["detector", _, "member", "get"]) => "GetMembers",
        (&Method::POST, ["detector", _, "member"]) => "CreateMembers",
        (&Method::POST, ["detector", _, "member", "invite"]) => "InviteMembers",
        _ => return None,
    };
    Some(GdRoute { op, detector })
}

/// Account IDs named by a request (for recording and per-account faults).
pub(crate) fn accounts_in(op: &str, body: Option<&Value>) -> Vec<String> {
    let Some(body) = body else { return Vec::new() };
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    match op {
        "GetMembers" | "InviteMembers" => strings(body.get("accountIds")),
        "CreateMembers" => body
            .get("accountDetails")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.get("accountId").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

pub(crate) fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, CT, &json!({ "message": message, "__type": code }))
        .header("x-amzn-ErrorType", code)
}

fn bad_request(message: &str) -> Reply {
    error(400, "BadRequestException", message)
}

pub(crate) fn unrecognized_client() -> Reply {
    error(
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid (missing SigV4 Authorization header).",
    )
}

pub(crate) fn unknown_operation(method: &Method, path: &str) -> Reply {
    error(
        404,
        "UnknownOperationException",
        &format!("The emulator does not implement {method} {path}"),
    )
}

pub(crate) fn fault_reply(fault: Fault) -> Reply {
    match fault {
        Fault::Throttle => error(
            429,
            "TooManyRequestsException",
            "The request was denied because of request throttling.",
        ),
        Fault::AccessDenied => error(
            403,
            "AccessDeniedException",
            "User is not authorized to perform this action.",
        ),
        _ => error(
            500,
            "InternalServerErrorException",
            "The request is rejected because an internal server error occurred.",
        ),
    }
}

pub(crate) fn member_json(m: &Member, admin: &str) -> Value {
    let mut v = json!({
        "accountId": m.account_id,
        "detectorId": m.detector_id,
        "masterId": admin,
        "administratorId": admin,
        "email": m.email,
        "relationshipStatus": m.relationship_status,
        "updatedAt": m.updated_at,
    });
    if let Some(at) = &m.invited_at {
        v["invitedAt"] = json!(at);
    }
    v
}

fn unprocessed(account: &str, result: &str) -> Value {
    json!({ "accountId": account, "result": result })
}

/// Validates a list of account IDs (1..=50 items, each exactly 12 chars) and
/// returns them de-duplicated, in request order.
fn account_ids(body: &Value, field: &str) -> Result<Vec<String>, Reply> {
    let arr = body.get(field).and_then(Value::as_array).ok_or_else(|| {
        bad_request(&format!(
            "The request is rejected because {field} is missing or not a list."
        ))
    })?;
    check_count(arr.len(), field)?;
    let mut out: Vec<String> = Vec::with_capacity(arr.len());
    for v in arr {
        let id = v.as_str().ok_or_else(|| {
            bad_request(&format!(
                "The request is rejected because {field} contains a non-string value."
            ))
        })?;
        check_account_id(id)?;
        if !out.iter().any(|x| x == id) {
            out.push(id.to_string());
        }
    }
    Ok(out)
}

fn check_count(n: usize, field: &str) -> Result<(), Reply> {
    if !(1..=50).contains(&n) {
        return Err(bad_request(&format!(
            "The request is rejected because an invalid or out-of-range value is specified as an input parameter: {field} must have between 1 and 50 items, got {n}."
        )));
    }
    Ok(())
}

fn check_account_id(id: &str) -> Result<(), Reply> {
    if id.chars().count() != 12 {
        return Err(bad_request(&format!(
            "The request is rejected because an invalid or out-of-range value is specified as an input parameter: accountId '{id}' must be exactly 12 characters."
        )));
    }
    Ok(())
}

fn parse_body(body: &[u8]) -> Result<Value, Reply> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|_| {
        bad_request("The request is rejected because the JSON could not be processed.")
    })
}

pub(crate) fn execute(st: &mut State, route: &GdRoute, query: Option<&str>, body: &[u8]) -> Reply {
    match exec_inner(st, route, query, body) {
        Ok(v) => Reply::json(200, CT, &v),
        Err(r) => r,
    }
}

fn exec_inner(
    st: &mut State,
    route: &GdRoute,
    query: Option<&str>,
    body: &[u8],
) -> Result<Value, Reply> {
    if route.op == "ListDetectors" {
        return list_detectors(st, query);
    }
    let detector = route.detector.clone().unwrap_or_default();
    let dlen = detector.chars().count();
    if !(1..=300).contains(&dlen) {
        return Err(bad_request(
            "The request is rejected because an invalid or out-of-range value is specified as an input parameter: detectorId must be 1 to 300 characters.",
        ));
    }
    let body = parse_body(body)?;
    match route.op {
        "GetMembers" => {
            let ids = account_ids(&body, "accountIds")?;
            owned(st, &detector)?;
            let admin = st.admin_account_id.clone();
            let members = st.members.entry(detector.clone()).or_default();
            let mut found = Vec::new();
            let mut un = Vec::new();
            for id in ids {
                match members.get(&id) {
                    Some(m) => found.push(member_json(m, &admin)),
                    None => un.push(unprocessed(&id, NOT_A_MEMBER)),
                }
            }
            Ok(json!({ "members": found, "unprocessedAccounts": un }))
        }
        "CreateMembers" => {
            let arr = body
                .get("accountDetails")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    bad_request(
                        "The request is rejected because accountDetails is missing or not a list.",
                    )
                })?;
            check_count(arr.len(), "accountDetails")?;
            let mut details = Vec::with_capacity(arr.len());
            for d in arr {
                let id = d.get("accountId").and_then(Value::as_str).ok_or_else(|| {
                    bad_request(
                        "The request is rejected because accountDetails[].accountId is missing.",
                    )
                })?;
                check_account_id(id)?;
                let email = d.get("email").and_then(Value::as_str).unwrap_or("");
                if !(1..=64).contains(&email.chars().count()) {
                    return Err(bad_request(&format!(
                        "The request is rejected because an invalid or out-of-range value is specified as an input parameter: email for account {id} must be 1 to 64 characters."
                    )));
                }
                details.push((id.to_string(), email.to_string()));
            }
            owned(st, &detector)?;
            let admin = st.admin_account_id.clone();
            let members = st.members.entry(detector.clone()).or_default();
            let mut un = Vec::new();
            for (id, email) in details {
                if id == admin {
                    un.push(unprocessed(&id, CANNOT_ADD_SELF));
                } else if members.contains_key(&id) {
                    un.push(unprocessed(&id, ALREADY_A_MEMBER));
                } else {
                    members.insert(
                        id.clone(),
                        Member {
                            detector_id: detector.clone(),
                            account_id: id,
                            email,
                            relationship_status: "Created".to_string(),
                            invited_at: None,
                            updated_at: now_iso8601(),
                            invited_message: None,
                            disable_email_notification: None,
                            invite_count: 0,
                        },
                    );
                }
            }
            Ok(json!({ "unprocessedAccounts": un }))
        }
        "InviteMembers" => {
            let ids = account_ids(&body, "accountIds")?;
            let message = body
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string);
            let disable = body
                .get("disableEmailNotification")
                .and_then(Value::as_bool);
            owned(st, &detector)?;
            let refusals = st.refusals.clone();
            let members = st.members.entry(detector.clone()).or_default();
            let mut un = Vec::new();
            for id in ids {
                let Some(m) = members.get_mut(&id) else {
                    un.push(unprocessed(&id, NOT_A_MEMBER));
                    continue;
                };
                if let Some(result) = refusals.get(&id) {
                    un.push(unprocessed(&id, result));
                    continue;
                }
                let now = now_iso8601();
                m.relationship_status = "Invited".to_string();
                m.invited_at = Some(now.clone());
                m.updated_at = now;
                m.invited_message = message.clone();
                m.disable_email_notification = disable;
                m.invite_count += 1;
            }
            Ok(json!({ "unprocessedAccounts": un }))
        }
        _ => Err(bad_request("Unsupported operation.")),
    }
}

fn owned(st: &State, detector: &str) -> Result<(), Reply> {
    if st.has_detector(detector) {
        Ok(())
    } else {
        Err(bad_request(NOT_OWNED))
    }
}

fn list_detectors(st: &State, query: Option<&str>) -> Result<Value, Reply> {
    let q = parse_query(query);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let max = match get("maxResults") {
        None => 50,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=50).contains(&n) => n,
            _ => {
                return Err(bad_request(
                    "The request is rejected because an invalid or out-of-range value is specified as an input parameter: maxResults must be between 1 and 50.",
                ));
            }
        },
    };
    let start = match get("nextToken") {
        None | Some("") => 0,
        Some(t) => t
            .strip_prefix("det-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n <= st.detectors.len())
            .ok_or_else(|| {
                bad_request("The request is rejected because the nextToken is invalid.")
            })?,
    };
    let end = (start + max).min(st.detectors.len());
    let mut v = json!({ "detectorIds": st.detectors[start..end] });
    if end < st.detectors.len() {
        v["nextToken"] = json!(format!("det-{end}"));
    }
    Ok(v)
}
