//! GuardDuty in a member account, with the credentials its role gave: the
//! member's detector and the administrator's invitation.

use aws_config::SdkConfig;
use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::config::IdentityCache;
use aws_sdk_guardduty::config::Region;

use super::error::call_error;
use crate::plan::{CallError, Invitation, MemberSession};

/// A GuardDuty client acting as the member in `region`. It shares the
/// process's HTTP client; static credentials need no identity cache.
pub fn client(config: &SdkConfig, region: &str, member: MemberSession) -> Client {
    let config = aws_sdk_guardduty::config::Builder::from(config)
        .region(Region::new(region.to_owned()))
        .credentials_provider(member.credentials)
        .identity_cache(IdentityCache::no_cache())
        .build();
    Client::from_conf(config)
}

/// An enabled detector for the member, when it has none.
pub async fn create_detector(client: &Client) -> Result<String, CallError> {
    let out = client
        .create_detector()
        .enable(true)
        .send()
        .await
        .map_err(|e| call_error(&e))?;
    Ok(out.detector_id().unwrap_or_default().to_owned())
}

/// Every invitation waiting in the member account, every page.
pub async fn list_invitations(client: &Client) -> Result<Vec<Invitation>, CallError> {
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

pub async fn accept_invitation(
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
