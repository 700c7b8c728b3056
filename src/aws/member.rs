//! GuardDuty in a member account, with the credentials its role gave: the
//! member's detector and the administrator's invitation. Every call here is
//! made as the member, through its role (member-role.yaml grants them).

use aws_config::SdkConfig;
use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::config::{IdentityCache, Region};

use super::error::call_error;
use super::guardduty;
use crate::plan::{Call, CallError, Invitation, MemberSession, Reply};

/// Makes a member-side call (`MemberDetectors`, `CreateDetector`,
/// `ListInvitations`, `AcceptInvitation`) with the member's credentials.
pub async fn call(config: &SdkConfig, call: Call) -> Reply {
    match call {
        Call::MemberDetectors { region, member } => {
            Reply::Detectors(guardduty::list_detectors(&client(config, &region, member)).await)
        }
        Call::CreateDetector { region, member } => {
            Reply::DetectorCreated(create_detector(&client(config, &region, member)).await)
        }
        Call::ListInvitations { region, member } => {
            Reply::Invitations(list_invitations(&client(config, &region, member)).await)
        }
        Call::AcceptInvitation {
            region,
            member,
            detector_id,
            administrator_id,
            invitation_id,
        } => Reply::Accepted(
            accept_invitation(
                &client(config, &region, member),
                detector_id,
                administrator_id,
                invitation_id,
            )
            .await,
        ),
        other => Reply::Accepted(Err(CallError::new(
            format!("{} is not a member-side call", other.operation()),
            false,
        ))),
    }
}

/// A GuardDuty client acting as the member in `region`. It shares the
/// process's HTTP client; static credentials need no identity cache.
fn client(config: &SdkConfig, region: &str, member: MemberSession) -> Client {
    let config = aws_sdk_guardduty::config::Builder::from(config)
        .region(Region::new(region.to_owned()))
        .credentials_provider(member.credentials)
        .identity_cache(IdentityCache::no_cache())
        .build();
    Client::from_conf(config)
}

/// An enabled detector for the member, when it has none.
async fn create_detector(client: &Client) -> Result<String, CallError> {
    let out = client
        .create_detector()
        .enable(true)
        .send()
        .await
        .map_err(|e| call_error(&e))?;
    Ok(out.detector_id().unwrap_or_default().to_owned())
}

/// Every invitation waiting in the member account, every page.
async fn list_invitations(client: &Client) -> Result<Vec<Invitation>, CallError> {
    let mut pages = client.list_invitations().into_paginator().send();
    let mut invitations = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error(&e))?;
        invitations.extend(page.invitations().iter().filter_map(|i| {
            Some(Invitation {
                account_id: i.account_id()?.to_owned(),
                invitation_id: i.invitation_id()?.to_owned(),
            })
        }));
    }
    Ok(invitations)
}

async fn accept_invitation(
    client: &Client,
    detector_id: String,
    administrator_id: String,
    invitation_id: String,
) -> Result<(), CallError> {
    client
        .accept_administrator_invitation()
        .detector_id(detector_id)
        .administrator_id(administrator_id)
        .invitation_id(invitation_id)
        .send()
        .await
        .map_err(|e| call_error(&e))?;
    Ok(())
}
