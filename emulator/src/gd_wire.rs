//! GuardDuty wire helpers shared by the operations: error replies and
//! request validation.

use serde::Serialize;
use serde_json::{Value, json};

use crate::model::Fault;
use crate::reply::Reply;
use crate::space::Space;
use crate::util::parse_query;

pub(crate) const CT: &str = "application/json";

const NOT_OWNED: &str =
    "The request is rejected because the input detectorId is not owned by the current account.";

pub(crate) fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, CT, &json!({ "message": message, "__type": code }))
        .header("x-amzn-ErrorType", code)
}

pub(crate) fn bad_request(message: &str) -> Reply {
    error(400, "BadRequestException", message)
}

pub(crate) fn unrecognized_client() -> Reply {
    error(
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid (missing SigV4 Authorization header).",
    )
}

/// A Region GuardDuty refuses for the account (an opt-in Region not
/// enabled): real GuardDuty answers this (FIELD-NOTES section 3, from
/// amazon-guardduty-multiaccount-scripts #38).
pub(crate) fn region_refused() -> Reply {
    error(
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )
}

pub(crate) fn unknown_operation(method: &http::Method, path: &str) -> Reply {
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

/// Validates a list of account IDs (1..=50 items, each exactly 12 chars) and
/// returns them de-duplicated, in request order.
pub(crate) fn account_ids(body: &Value, field: &str) -> Result<Vec<String>, Reply> {
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

pub(crate) fn check_count(n: usize, field: &str) -> Result<(), Reply> {
    if !(1..=50).contains(&n) {
        return Err(bad_request(&format!(
            "The request is rejected because an invalid or out-of-range value is specified as an input parameter: {field} must have between 1 and 50 items, got {n}."
        )));
    }
    Ok(())
}

pub(crate) fn check_account_id(id: &str) -> Result<(), Reply> {
    if id.chars().count() != 12 {
        return Err(bad_request(&format!(
            "The request is rejected because an invalid or out-of-range value is specified as an input parameter: accountId '{id}' must be exactly 12 characters."
        )));
    }
    Ok(())
}

pub(crate) fn parse_body(body: &[u8]) -> Result<Value, Reply> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|_| {
        bad_request("The request is rejected because the JSON could not be processed.")
    })
}

/// The detector is the acting account's in the request's Region (`space`
/// is that account's in that Region; `None` when it has nothing there).
pub(crate) fn owned(space: Option<&Space>, detector: &str) -> Result<(), Reply> {
    if space.is_some_and(|s| s.has_detector(detector)) {
        Ok(())
    } else {
        Err(bad_request(NOT_OWNED))
    }
}

/// One page of `items` for a GuardDuty list operation's `maxResults`
/// (1..=50, default 50) and `nextToken` (`<prefix>-<offset>`, as the
/// emulator issues them): `{"<key>": [...], "nextToken"?}`.
pub(crate) fn page<T: Serialize>(
    items: &[T],
    query: Option<&str>,
    key: &str,
    prefix: &str,
) -> Result<Value, Reply> {
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
            .strip_prefix(prefix)
            .and_then(|t| t.strip_prefix('-'))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n <= items.len())
            .ok_or_else(|| {
                bad_request("The request is rejected because the nextToken is invalid.")
            })?,
    };
    let end = (start + max).min(items.len());
    let mut v = json!({ key: &items[start..end] });
    if end < items.len() {
        v["nextToken"] = json!(format!("{prefix}-{end}"));
    }
    Ok(v)
}
