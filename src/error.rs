//! The errors that fail a whole invocation. Their `errorType` names are part of
//! the public contract (SPEC.md), so they live in one place and never change.

use lambda_runtime::Diagnostic;

use crate::plan::Fatal;

/// A problem that makes the whole event impossible. Nothing has been created
/// or invited when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvocationError {
    #[error("{0}")]
    InvalidEvent(String),
    #[error("{0}")]
    DetectorNotFound(String),
    #[error("{0}")]
    OrganizationsAccessDenied(String),
    #[error("{0}")]
    RegionDiscoveryFailed(String),
}

impl InvocationError {
    /// The stable `errorType` the Lambda Runtime API reports to the caller.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidEvent(_) => "InvalidEvent",
            Self::DetectorNotFound(_) => "DetectorNotFound",
            Self::OrganizationsAccessDenied(_) => "OrganizationsAccessDenied",
            Self::RegionDiscoveryFailed(_) => "RegionDiscoveryFailed",
        }
    }
}

impl From<Fatal> for InvocationError {
    fn from(fatal: Fatal) -> Self {
        match fatal {
            Fatal::OrganizationsAccessDenied(message) => Self::OrganizationsAccessDenied(format!(
                "AWS Organizations denied the membership lookup ({message}); grant organizations:DescribeAccount and organizations:ListAccounts to the function's role, or set ORGANIZATIONS_CHECK=off. Nothing was invited."
            )),
            Fatal::DetectorNotFound => Self::DetectorNotFound(
                "GuardDuty has no detector in this region: enable GuardDuty, or name the detector with detectorId in the event or GUARDDUTY_DETECTOR_ID. Nothing was invited.".into(),
            ),
        }
    }
}

impl From<InvocationError> for Diagnostic {
    fn from(error: InvocationError) -> Self {
        Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// A setting the function cannot use. Reported once, at init, through the
/// Runtime API's init-error endpoint, before any event is taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigurationError {
    pub variable: &'static str,
    pub problem: String,
}

impl ConfigurationError {
    pub const ERROR_TYPE: &'static str = "ConfigurationError";
}
