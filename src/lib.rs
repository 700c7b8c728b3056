//! An AWS Lambda function that invites AWS accounts into GuardDuty, leaving
//! out the accounts AWS Organizations already manages. The README holds the
//! contract.
//!
//! Layout: [`event`] parses every accepted event shape and [`validate`]
//! checks what it names; [`plan`] decides, per account and per call, with no
//! I/O; [`engine`] runs a plan against the [`engine::Aws`] seam within the
//! deadline; [`aws`] is the SDK side of that seam; [`response`] is the output
//! contract; [`handler`] ties them to Lambda and keeps the warm process's
//! [`cache`]; [`runtime`] holds the Runtime API details `lambda_runtime`
//! leaves to the function. [`testing`] (tests and the `test-util` feature
//! only) holds the test helpers: an in-memory AWS and the exactly-once check.

pub mod aws;
pub mod cache;
pub mod config;
pub mod engine;
pub mod error;
pub mod event;
pub mod handler;
pub mod logging;
pub mod metrics;
pub mod plan;
pub mod regions;
pub mod response;
pub mod runtime;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod validate;
