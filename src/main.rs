//! The `bootstrap` binary: settings and clients are built once at init, then
//! the runtime hands every event to the same handler.
// The handler's future nests the SDK's (member-side clients, STS) deeper
// than rustc's default layout query depth of 128.
#![recursion_limit = "256"]

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use guardduty_inviter::aws::AwsClients;
use guardduty_inviter::config::Settings;
use guardduty_inviter::handler::Inviter;
use guardduty_inviter::{logging, runtime};
use lambda_runtime::layers::TracingLayer;
use lambda_runtime::tower::util::MapRequestLayer;
use lambda_runtime::{Error, LambdaEvent, Runtime, service_fn};
use serde_json::value::RawValue;

/// Longest wait for a TCP and TLS connection to an AWS endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);
/// Longest wait for one attempt of one call; the SDK then retries it.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

// One invocation at a time per process, so one thread: a faster cold start
// and a smaller footprint than a multi-threaded runtime.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            tracing::error!(error = %error, "configuration error");
            if let Err(report) = runtime::report_init_error(&error).await {
                tracing::error!(error = %report, "could not report the init error");
            }
            return Err(error.into());
        }
    };
    // Reads region, endpoint overrides and retry settings from the
    // environment; credentials are resolved lazily, so no AWS call here. An
    // attempt that never answers is cut off and retried, well inside the
    // invocation's deadline, instead of holding its accounts to the end.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await;
    let inviter = Inviter::new(AwsClients::new(&config), settings);
    let inviter = &inviter;
    let handler =
        service_fn(
            move |event: LambdaEvent<Box<RawValue>>| async move { inviter.handle(event).await },
        );
    // As `lambda_runtime::run`, plus a check that the event is JSON at all.
    Runtime::new(handler)
        .layer(TracingLayer::new())
        .layer(MapRequestLayer::new(runtime::only_json))
        .run()
        .await
}
