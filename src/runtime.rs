//! The Runtime API pieces `lambda_runtime` leaves to the function: reporting
//! an init failure through `/runtime/init/error`, turning an event that is
//! not JSON at all into an `InvalidEvent` rather than the runtime's own
//! deserialization error, and reading the invocation's context the way
//! emulators send it too.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{Client, build_request};

use crate::error::ConfigurationError;
use crate::validate::check_account_id;
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

/// The account in a Lambda function ARN
/// (`arn:aws:lambda:<region>:<account>:function:<name>`).
pub fn account_of_function(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    check_account_id(account).ok()?;
    Some(account)
}

/// The partition in a Lambda function ARN (`aws`, `aws-cn`, `aws-us-gov`);
/// `aws` when the ARN names none.
pub fn partition_of_function(arn: &str) -> &str {
    match arn.split(':').nth(1) {
        Some(p) if arn.starts_with("arn:") && !p.is_empty() => p,
        _ => "aws",
    }
}

/// Time until Lambda's deadline, given in milliseconds since the Unix epoch;
/// `None` when there is none. Some Runtime API emulators (`cargo lambda`)
/// send the time left instead of a point in time: a value too small to be a
/// date after 2001 is read that way, since no real deadline is in the past.
pub fn time_left(deadline_ms: u64) -> Option<Duration> {
    const EPOCH_MS_2001: u64 = 1_000_000_000_000;
    if deadline_ms == 0 {
        return None;
    }
    if deadline_ms < EPOCH_MS_2001 {
        return Some(Duration::from_millis(deadline_ms));
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Some(Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_comes_from_the_function_arn() {
        assert_eq!(
            partition_of_function("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:x"),
            "aws-us-gov"
        );
        assert_eq!(
            partition_of_function("arn:aws:lambda:us-east-1:1:function:x"),
            "aws"
        );
        assert_eq!(partition_of_function("function-arn"), "aws");
        assert_eq!(partition_of_function(""), "aws");
    }

    #[test]
    fn own_account_comes_from_the_function_arn() {
        assert_eq!(
            account_of_function("arn:aws:lambda:us-east-1:123456789012:function:inviter"),
            Some("123456789012")
        );
        assert_eq!(
            account_of_function("arn:aws:lambda:us-east-1:123456789012:function:inviter:live"),
            Some("123456789012")
        );
        assert_eq!(account_of_function(""), None);
        assert_eq!(
            account_of_function("arn:aws:lambda:us-east-1:abc:function:x"),
            None
        );
    }

    #[test]
    fn deadlines_are_points_in_time_or_relative_from_emulators() {
        assert_eq!(time_left(0), None);
        assert_eq!(time_left(600_000), Some(Duration::from_secs(600)));
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let left = time_left(now_ms + 30_000).unwrap();
        assert!(
            left <= Duration::from_secs(30) && left > Duration::from_secs(25),
            "{left:?}"
        );
        assert_eq!(time_left(now_ms - 5_000), Some(Duration::ZERO));
        assert_eq!(account_of_function("function-arn"), None);
    }
}
