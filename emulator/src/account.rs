//! AWS Account (restJson1): `POST /listRegions` (ListRegions).
//!
//! Shapes from botocore's `account` 2021-02-01 model: request
//! `{"AccountId"?, "MaxResults"? (1..=50), "NextToken"? (0..=1000 chars),
//! "RegionOptStatusContains"? [status]}`, answer `{"Regions": [{"RegionName",
//! "RegionOptStatus"}], "NextToken"?}`; errors `ValidationException` (400,
//! `{"message", "reason", "fieldList"}`), `AccessDeniedException` (403),
//! `TooManyRequestsException` (429), `InternalServerException` (500), each
//! with `x-amzn-ErrorType`.

use serde_json::{Value, json};

use crate::identity::Caller;
use crate::model::{Fault, REGION_OPT_STATUSES};
use crate::reply::Reply;
use crate::state::State;

const CT: &str = "application/json";

/// Whether `path` is one of AWS Account's operations.
pub(crate) fn owns_path(path: &str) -> bool {
    path == "/listRegions"
}

pub(crate) fn op_name(path: &str) -> &'static str {
    match path {
        "/listRegions" => "ListRegions",
        _ => "Unknown",
    }
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, CT, &json!({ "message": message })).header("x-amzn-ErrorType", code)
}

/// A `ValidationException` for one field. The wording follows AWS's usual
/// input-validation text; Account's own is UNCONFIRMED.
fn invalid(field: &str, message: &str) -> Reply {
    Reply::json(
        400,
        CT,
        &json!({
            "message": message,
            "reason": "fieldValidationFailed",
            "fieldList": [{ "name": field, "message": message }],
        }),
    )
    .header("x-amzn-ErrorType", "ValidationException")
}

/// An injected fault. UNCONFIRMED texts: the codes and statuses are the
/// model's; the AccessDenied text is IAM's wording for JSON services.
pub(crate) fn fault_reply(fault: Fault, caller: &Caller) -> Reply {
    match fault {
        Fault::Throttle => error(429, "TooManyRequestsException", "Rate exceeded"),
        Fault::AccessDenied => error(
            403,
            "AccessDeniedException",
            &format!(
                "User: {} is not authorized to perform: account:ListRegions because no identity-based policy allows the account:ListRegions action",
                caller.arn
            ),
        ),
        _ => error(
            500,
            "InternalServerException",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
    }
}

pub(crate) fn execute(st: &State, op: &str, body: &[u8]) -> Reply {
    if op != "ListRegions" {
        return error(
            404,
            "UnknownOperationException",
            "The emulator does not implement this operation.",
        );
    }
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => {
                return error(
                    400,
                    "SerializationException",
                    "Could not parse the request body.",
                );
            }
        }
    };
    match list_regions(st, &body) {
        Ok(v) => Reply::json(200, CT, &v),
        Err(r) => r,
    }
}

/// ListRegions: the configured Region list in its order, filtered by
/// `RegionOptStatusContains` (any of), in pages of at most
/// `min(MaxResults, page size)`. `AccountId` is not checked (the acting
/// account's list is answered).
fn list_regions(st: &State, body: &Value) -> Result<Value, Reply> {
    let max = match body.get("MaxResults") {
        None | Some(Value::Null) => st.regions.page_size,
        Some(v) => match v.as_i64() {
            Some(n) if (1..=50).contains(&n) => (n as usize).min(st.regions.page_size),
            _ => {
                return Err(invalid(
                    "MaxResults",
                    &format!(
                        "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 50"
                    ),
                ));
            }
        },
    };
    let wanted: Option<Vec<&str>> = match body.get("RegionOptStatusContains") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let list = v
                .as_array()
                .map(|a| a.iter().map(Value::as_str).collect::<Option<Vec<_>>>());
            match list.flatten() {
                Some(l) if l.iter().all(|s| REGION_OPT_STATUSES.contains(s)) => Some(l),
                _ => {
                    return Err(invalid(
                        "RegionOptStatusContains",
                        "1 validation error detected: Value at 'regionOptStatusContains' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, ENABLING, DISABLING, DISABLED, ENABLED_BY_DEFAULT]",
                    ));
                }
            }
        }
    };
    let listed: Vec<&(String, String)> = st
        .regions
        .list
        .iter()
        .filter(|(_, s)| wanted.as_ref().is_none_or(|w| w.contains(&s.as_str())))
        .collect();
    let start = match body.get("NextToken") {
        None | Some(Value::Null) => 0,
        Some(Value::String(t)) if t.is_empty() => 0,
        Some(t) => t
            .as_str()
            .and_then(|t| t.strip_prefix("rgn-"))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n <= listed.len())
            .ok_or_else(|| invalid("NextToken", "The NextToken is invalid."))?,
    };
    let end = (start + max.max(1)).min(listed.len());
    let regions: Vec<Value> = listed[start..end]
        .iter()
        .map(|(n, s)| json!({ "RegionName": n, "RegionOptStatus": s }))
        .collect();
    let mut v = json!({ "Regions": regions });
    if end < listed.len() {
        v["NextToken"] = json!(format!("rgn-{end}"));
    }
    Ok(v)
}
