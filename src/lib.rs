//! An AWS Lambda function that invites AWS accounts into GuardDuty, leaving
//! out the accounts AWS Organizations already manages. The contract is
//! SPEC.md; the README explains it to users.
//!
//! Layout: [`event`] parses every accepted event shape; [`plan`] decides, per
//! account and per call, with no I/O; [`engine`] runs a plan against the
//! [`engine::Aws`] seam within the deadline; [`aws`], [`guardduty`] and
//! [`organizations`] are the SDK side of that seam; [`handler`] ties them to
//! Lambda and keeps the warm process's [`cache`].

pub mod aws;
pub mod cache;
pub mod config;
pub mod engine;
pub mod error;
pub mod event;
pub mod guardduty;
pub mod handler;
pub mod logging;
pub mod organizations;
pub mod plan;
pub mod runtime;
