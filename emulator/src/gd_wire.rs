//! GuardDuty wire helpers shared by the operations: error replies and
//! request validation.

use serde_json::{Value, json};

use crate::model::Fault;
use crate::reply::Reply;
use crate::state::State;

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

pub(crate) fn owned(st: &State, detector: &str) -> Result<(), Reply> {
    if st.has_detector(detector) {
        Ok(())
    } else {
        Err(bad_request(NOT_OWNED))
    }
}
