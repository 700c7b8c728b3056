//! The real [`Aws`] seam: the SDK clients, built once at init, and the calls
//! that reduce each SDK answer to what the plan needs.

pub mod error;
pub mod guardduty;
pub mod organizations;

use aws_config::SdkConfig;

use crate::engine::Aws;
use crate::plan::{Call, Reply};

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
            Call::DeleteMembers {
                detector_id,
                account_ids,
            } => Reply::Deleted(
                guardduty::delete_members(&self.guardduty, &detector_id, account_ids).await,
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
