//! The real [`Aws`] seam: the SDK clients, built once at init (GuardDuty's
//! per Region, the first time a Region is needed), and the calls that reduce
//! each SDK answer to what the plan needs.

pub mod account;
pub mod error;
pub mod guardduty;
pub mod member;
pub mod organizations;
pub mod sts;

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_sdk_guardduty::config::Region;

use crate::engine::Aws;
use crate::plan::{Call, Reply};

/// Every client shares the one configuration: one HTTP client (one TLS
/// stack, one connection pool), one credentials provider and its cache.
#[derive(Debug)]
pub struct AwsClients {
    config: SdkConfig,
    pub organizations: aws_sdk_organizations::Client,
    account: aws_sdk_account::Client,
    sts: aws_sdk_sts::Client,
    /// Names the function in the member accounts' CloudTrail.
    session_name: String,
    /// The administrator's GuardDuty client of each Region used so far.
    guardduty: Mutex<HashMap<String, aws_sdk_guardduty::Client>>,
}

impl AwsClients {
    /// Builds the clients from one shared configuration (region, endpoint
    /// overrides such as `AWS_ENDPOINT_URL_GUARDDUTY`, retries). No AWS call.
    pub fn new(config: &SdkConfig) -> Self {
        let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok();
        AwsClients {
            config: config.clone(),
            organizations: aws_sdk_organizations::Client::new(config),
            account: aws_sdk_account::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            session_name: sts::session_name(function.as_deref()),
            guardduty: Mutex::new(HashMap::new()),
        }
    }

    /// The same, with another Organizations client (tests that point the
    /// services at different endpoints).
    pub fn with_organizations(mut self, organizations: aws_sdk_organizations::Client) -> Self {
        self.organizations = organizations;
        self
    }

    /// The administrator's GuardDuty client in `region`, built the first
    /// time and kept by the warm process.
    pub fn guardduty(&self, region: &str) -> aws_sdk_guardduty::Client {
        let mut clients = self.guardduty.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_owned())
            .or_insert_with(|| {
                let config = aws_sdk_guardduty::config::Builder::from(&self.config)
                    .region(Region::new(region.to_owned()))
                    .build();
                aws_sdk_guardduty::Client::from_conf(config)
            })
            .clone()
    }
}

impl Aws for AwsClients {
    fn own_region(&self) -> Option<&str> {
        self.config.region().map(Region::as_ref)
    }

    async fn call(&self, call: Call) -> Reply {
        match call {
            Call::DescribeAccount { account_id } => Reply::Account(
                organizations::describe_account(&self.organizations, &account_id).await,
            ),
            Call::ListAccounts { next_token } => Reply::AccountsPage(
                organizations::list_accounts(&self.organizations, next_token).await,
            ),
            Call::ListRegions => Reply::Regions(account::enabled_regions(&self.account).await),
            Call::CallerIdentity => Reply::Identity(sts::caller_account(&self.sts).await),
            Call::AssumeRole {
                role_arn,
                external_id,
            } => Reply::Assumed(
                // Boxed: the provider's builder can load a whole default
                // configuration, a future too deep to inline in every caller.
                Box::pin(sts::assume_role(
                    &self.config,
                    role_arn,
                    external_id,
                    &self.session_name,
                ))
                .await,
            ),
            Call::ListDetectors { region } => {
                Reply::Detectors(guardduty::list_detectors(&self.guardduty(&region)).await)
            }
            Call::GetMembers {
                region,
                detector_id,
                account_ids,
            } => Reply::Members(
                guardduty::get_members(&self.guardduty(&region), &detector_id, account_ids).await,
            ),
            Call::DeleteMembers {
                region,
                detector_id,
                account_ids,
            } => Reply::Deleted(
                guardduty::delete_members(&self.guardduty(&region), &detector_id, account_ids)
                    .await,
            ),
            Call::CreateMembers {
                region,
                detector_id,
                accounts,
            } => Reply::Created(
                guardduty::create_members(&self.guardduty(&region), &detector_id, accounts).await,
            ),
            Call::InviteMembers {
                region,
                detector_id,
                account_ids,
                message,
                disable_email_notification,
            } => Reply::Invited(
                guardduty::invite_members(
                    &self.guardduty(&region),
                    &detector_id,
                    account_ids,
                    message,
                    disable_email_notification,
                )
                .await,
            ),
            member_side @ (Call::MemberDetectors { .. }
            | Call::CreateDetector { .. }
            | Call::ListInvitations { .. }
            | Call::AcceptInvitation { .. }) => member::call(&self.config, member_side).await,
        }
    }
}
