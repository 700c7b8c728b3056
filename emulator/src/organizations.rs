//! AWS Organizations (awsJson1_1) operations.

use serde_json::{Value, json};

use crate::model::Fault;
use crate::reply::Reply;
use crate::state::{OrgAccountRec, Organization, State};

const CT: &str = "application/x-amz-json-1.1";
const TARGET_PREFIX: &str = "AWSOrganizationsV20161128.";
pub(crate) const THROTTLE_MESSAGE: &str = "AWS Organizations can't complete your request because another request is already in progress. Try again later.";

/// Maps an `X-Amz-Target` header to the operation name.
pub(crate) fn op_name(target: &str) -> &'static str {
    match target.strip_prefix(TARGET_PREFIX) {
        Some("DescribeAccount") => "DescribeAccount",
        Some("ListAccounts") => "ListAccounts",
        Some("DescribeOrganization") => "DescribeOrganization",
        _ => "Unknown",
    }
}

pub(crate) fn accounts_in(op: &str, body: Option<&Value>) -> Vec<String> {
    match (
        op,
        body.and_then(|b| b.get("AccountId"))
            .and_then(Value::as_str),
    ) {
        ("DescribeAccount", Some(id)) => vec![id.to_string()],
        _ => Vec::new(),
    }
}

pub(crate) fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, CT, &json!({ "__type": code, "Message": message }))
}

fn invalid_input(reason: &str, message: &str) -> Reply {
    Reply::json(
        400,
        CT,
        &json!({ "__type": "InvalidInputException", "Message": message, "Reason": reason }),
    )
}

pub(crate) fn unrecognized_client() -> Reply {
    error(
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid (missing SigV4 Authorization header).",
    )
}

pub(crate) fn fault_reply(fault: Fault) -> Reply {
    match fault {
        Fault::Throttle => Reply::json(
            400,
            CT,
            &json!({
                "__type": "TooManyRequestsException",
                "Message": THROTTLE_MESSAGE,
                "Type": "RequestThrottled",
            }),
        ),
        Fault::AccessDenied => error(
            400,
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
        ),
        _ => error(
            500,
            "ServiceException",
            "AWS Organizations can't complete your request because it encountered an internal error. Try again later.",
        ),
    }
}

pub(crate) fn account_json(a: &OrgAccountRec, org: &Organization) -> Value {
    json!({
        "Id": a.id,
        "Arn": format!("arn:aws:organizations::{}:account/{}/{}", org.management_account_id, org.id, a.id),
        "Email": a.email,
        "Name": a.name,
        "Status": a.status,
        "State": a.status,
        "JoinedMethod": a.joined_method,
        "JoinedTimestamp": a.joined_timestamp,
    })
}

pub(crate) fn execute(st: &mut State, op: &str, body: &[u8]) -> Reply {
    match exec_inner(st, op, body) {
        Ok(v) => Reply::json(200, CT, &v),
        Err(r) => r,
    }
}

fn exec_inner(st: &mut State, op: &str, body: &[u8]) -> Result<Value, Reply> {
    if op == "Unknown" {
        return Err(error(
            400,
            "UnknownOperationException",
            "The emulator does not implement this operation.",
        ));
    }
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|_| {
            error(
                400,
                "SerializationException",
                "Could not parse the request body.",
            )
        })?
    };
    let Some(org) = st.org.clone() else {
        return Err(error(
            400,
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        ));
    };
    match op {
        "DescribeOrganization" => {
            let mgmt = &org.management_account_id;
            Ok(json!({
                "Organization": {
                    "Id": org.id,
                    "Arn": format!("arn:aws:organizations::{mgmt}:organization/{}", org.id),
                    "FeatureSet": "ALL",
                    "MasterAccountArn": format!("arn:aws:organizations::{mgmt}:account/{}/{mgmt}", org.id),
                    "MasterAccountId": mgmt,
                    "MasterAccountEmail": format!("aws+{mgmt}@example.com"),
                }
            }))
        }
        "DescribeAccount" => {
            let id = body
                .get("AccountId")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    invalid_input(
                        "INPUT_REQUIRED",
                        "You must specify a value for the AccountId parameter.",
                    )
                })?;
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid_input(
                    "INVALID_PATTERN",
                    "The AccountId you specified is not valid: it must be exactly 12 digits.",
                ));
            }
            match st.org_index.get(id) {
                Some(&i) => Ok(json!({ "Account": account_json(&st.org_accounts[i], &org) })),
                None => Err(error(
                    400,
                    "AccountNotFoundException",
                    "You specified an account that doesn't exist.",
                )),
            }
        }
        "ListAccounts" => list_accounts(st, &org, &body),
        _ => Err(error(
            400,
            "UnknownOperationException",
            "Unknown operation.",
        )),
    }
}

/// Pagination token: where the next real page starts, how many real pages
/// were served, and whether the empty page before the next real page was
/// already served.
fn encode_token(offset: usize, real_served: usize, empty_done: bool) -> String {
    format!("emu1.{offset}.{real_served}.{}", u8::from(empty_done))
}

fn decode_token(t: &str) -> Option<(usize, usize, bool)> {
    let mut it = t.strip_prefix("emu1.")?.split('.');
    let offset = it.next()?.parse().ok()?;
    let real = it.next()?.parse().ok()?;
    let done = match it.next()? {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    if it.next().is_some() {
        return None;
    }
    Some((offset, real, done))
}

fn list_accounts(st: &State, org: &Organization, body: &Value) -> Result<Value, Reply> {
    let size = match body.get("MaxResults") {
        None | Some(Value::Null) => 20,
        Some(v) => match v.as_i64() {
            Some(n) if n > 20 => {
                return Err(invalid_input(
                    "MAX_VALUE_EXCEEDED",
                    "You provided a value that exceeds the maximum allowed value: MaxResults must be at most 20.",
                ));
            }
            Some(n) if n < 1 => {
                return Err(invalid_input(
                    "MIN_VALUE_EXCEEDED",
                    "You provided a value that is less than the minimum allowed value: MaxResults must be at least 1.",
                ));
            }
            Some(n) => n as usize,
            None => {
                return Err(error(
                    400,
                    "SerializationException",
                    "MaxResults must be an integer.",
                ));
            }
        },
    };
    let (offset, real_served, empty_done) = match body.get("NextToken") {
        None | Some(Value::Null) => (0, 0, false),
        Some(Value::String(t)) if t.is_empty() => (0, 0, false),
        Some(Value::String(t)) => decode_token(t)
            .filter(|&(o, _, _)| o <= st.org_accounts.len())
            .ok_or_else(|| {
                invalid_input(
                    "INVALID_NEXT_TOKEN",
                    "You specified an invalid value for the NextToken parameter.",
                )
            })?,
        Some(_) => {
            return Err(invalid_input(
                "INVALID_NEXT_TOKEN",
                "You specified an invalid value for the NextToken parameter.",
            ));
        }
    };
    let n = st.empty_every;
    let next_real = real_served + 1;
    if n > 0 && next_real % n == 0 && !empty_done {
        return Ok(json!({
            "Accounts": [],
            "NextToken": encode_token(offset, real_served, true),
        }));
    }
    let end = (offset + size).min(st.org_accounts.len());
    let accounts: Vec<Value> = st.org_accounts[offset..end]
        .iter()
        .map(|a| account_json(a, org))
        .collect();
    let mut v = json!({ "Accounts": accounts });
    if end < st.org_accounts.len() {
        v["NextToken"] = json!(encode_token(end, next_real, false));
    }
    Ok(v)
}
