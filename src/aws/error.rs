//! What a failed SDK call tells the caller: a short, caller-safe text, and
//! whether the same call may succeed later.

use std::error::Error;

use aws_sdk_guardduty::config::http::HttpResponse;
use aws_sdk_guardduty::error::{ProvideErrorMetadata, SdkError};

use crate::plan::CallError;

/// The service's error code and message when it answered, otherwise what
/// went wrong on the way and its root cause (no request dumps, no internal
/// types).
pub fn error_text<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let what = match error {
        SdkError::ServiceError(e) => {
            let e = e.err();
            return match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => format!("unrecognized error from AWS: {}", root_cause(error)),
            };
        }
        SdkError::TimeoutError(_) => "the call timed out",
        SdkError::DispatchFailure(_) => "could not reach AWS",
        SdkError::ResponseError(_) => "unreadable response from AWS",
        SdkError::ConstructionFailure(_) => "the request could not be built",
        _ => "the call failed",
    };
    format!("{what}: {}", root_cause(error))
}

/// A failed call, typed for the plan: throttling, 5xx, time-outs and
/// transport errors are worth retrying; anything else the service refused
/// is not.
pub fn call_error<E>(error: &SdkError<E, HttpResponse>) -> CallError
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let refused = error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|code| code == "UnrecognizedClientException");
    let retryable = match error {
        SdkError::ServiceError(e) => {
            let throttled = e
                .err()
                .code()
                .is_some_and(|code| code.contains("Throttl") || code.contains("TooManyRequests"));
            throttled || e.raw().status().is_server_error()
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    };
    CallError {
        region_refused: refused,
        ..CallError::new(error_text(error), retryable)
    }
}

/// The innermost error's own message.
fn root_cause(error: &(dyn Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
