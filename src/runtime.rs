//! The Runtime API pieces `lambda_runtime` leaves to the function: reporting
//! an init failure through `/runtime/init/error`, and turning an event that is
//! not JSON at all into an `InvalidEvent` rather than the runtime's own
//! deserialization error.

use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{Client, build_request};

use crate::error::ConfigurationError;
use lambda_runtime::LambdaInvocation;
use serde::de::IgnoredAny;

/// Lambda only delivers JSON, but other Runtime APIs (`cargo lambda`) pass
/// any bytes through. Those are replaced by a JSON string, which the handler
/// refuses as `InvalidEvent` like any other wrong shape. Checking with
/// `IgnoredAny` has no nesting limit and allocates nothing.
pub fn only_json(mut invocation: LambdaInvocation) -> LambdaInvocation {
    if serde_json::from_slice::<IgnoredAny>(&invocation.body).is_err() {
        invocation.body = serde_json::to_vec("the event is not JSON")
            .unwrap_or_default()
            .into();
    }
    invocation
}

/// Tells Lambda that init failed, with the stable `ConfigurationError` type,
/// so the caller sees what to fix instead of a bare exit status.
pub async fn report_init_error(error: &ConfigurationError) -> Result<(), lambda_runtime::Error> {
    let body = serde_json::json!({
        "errorType": ConfigurationError::ERROR_TYPE,
        "errorMessage": error.to_string(),
    });
    let request = build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header(
            "lambda-runtime-function-error-type",
            ConfigurationError::ERROR_TYPE,
        )
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body)?))?;
    let client = Client::builder().build()?;
    let response = client.call(request).await?;
    if !response.status().is_success() {
        return Err(format!("the Runtime API answered {}", response.status()).into());
    }
    Ok(())
}
