//! The real [`Aws`] seam: the SDK clients, built once at init.

use std::error::Error;

use aws_config::SdkConfig;
use aws_sdk_guardduty::error::{ProvideErrorMetadata, SdkError};

use crate::engine::Aws;
use crate::plan::{Call, Reply};
use crate::{guardduty, organizations};

#[derive(Clone, Debug)]
pub struct AwsClients {
    pub guardduty: aws_sdk_guardduty::Client,
    pub organizations: aws_sdk_organizations::Client,
}

impl AwsClients {
    /// Builds both clients from one shared configuration (region, endpoint
    /// overrides such as `AWS_ENDPOINT_URL_GUARDDUTY`, retries). No AWS call.
    pub fn new(config: &SdkConfig) -> Self {
        AwsClients {
            guardduty: aws_sdk_guardduty::Client::new(config),
            organizations: aws_sdk_organizations::Client::new(config),
        }
    }
}

impl Aws for AwsClients {
    async fn call(&self, call: Call) -> Reply {
        match call {
            Call::DescribeAccount { account_id } => Reply::Account(
                organizations::describe_account(&self.organizations, &account_id).await,
            ),
            Call::ListAccounts { next_token } => Reply::AccountsPage(
                organizations::list_accounts(&self.organizations, next_token).await,
            ),
            Call::ListDetectors => {
                Reply::Detectors(guardduty::list_detectors(&self.guardduty).await)
            }
            Call::GetMembers {
                detector_id,
                account_ids,
            } => Reply::Members(
                guardduty::get_members(&self.guardduty, &detector_id, account_ids).await,
            ),
            Call::CreateMembers {
                detector_id,
                accounts,
            } => Reply::Created(
                guardduty::create_members(&self.guardduty, &detector_id, accounts).await,
            ),
            Call::InviteMembers {
                detector_id,
                account_ids,
                message,
                disable_email_notification,
            } => Reply::Invited(
                guardduty::invite_members(
                    &self.guardduty,
                    &detector_id,
                    account_ids,
                    message,
                    disable_email_notification,
                )
                .await,
            ),
        }
    }
}

/// A short, caller-safe description of a failed call: the service's error
/// code and message when it answered, otherwise what went wrong on the way
/// and its root cause (no request dumps, no internal types).
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

/// The innermost error's own message.
fn root_cause(error: &(dyn Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
