//! The Runtime API pieces `lambda_runtime` leaves to the function: reporting
//! an init failure through `/runtime/init/error`.

use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{Client, build_request};

use crate::error::ConfigurationError;

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
