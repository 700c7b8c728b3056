//! The cold-start baseline: what any Rust Lambda function that talks to
//! GuardDuty and Organizations pays before its first event. It builds the
//! two SDK clients the way `bootstrap` does, then echoes every event.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

// The same runtime flavour as `bootstrap`, so the comparison is like for like.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let guardduty = aws_sdk_guardduty::Client::new(&config);
    let organizations = aws_sdk_organizations::Client::new(&config);
    let clients = &(guardduty, organizations);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let _ = clients;
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
