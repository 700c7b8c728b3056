//! The GuardDuty calls, reduced to what the plan needs to know.

use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::types::{AccountDetail, Member, UnprocessedAccount};

use super::error::call_error;
use crate::plan::{CallError, MemberRecord, MemberStatus, Rejected};

/// The region's detector, if there is one (there is at most one).
pub async fn list_detectors(client: &Client) -> Result<Option<String>, CallError> {
    let mut pages = client.list_detectors().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error(&e))?;
        if let Some(id) = page.detector_ids().first() {
            return Ok(Some(id.clone()));
        }
    }
    Ok(None)
}

/// The member records among `account_ids`, whatever their status.
pub async fn get_members(
    client: &Client,
    detector_id: &str,
    account_ids: Vec<String>,
) -> Result<Vec<MemberRecord>, CallError> {
    let out = client
        .get_members()
        .detector_id(detector_id)
        .set_account_ids(Some(account_ids))
        .send()
        .await
        .map_err(|e| call_error(&e))?;
    Ok(out.members().iter().filter_map(record).collect())
}

/// Removes the members' records, so that they can be created anew.
pub async fn delete_members(
    client: &Client,
    detector_id: &str,
    account_ids: Vec<String>,
) -> Result<Vec<Rejected>, CallError> {
    let out = client
        .delete_members()
        .detector_id(detector_id)
        .set_account_ids(Some(account_ids))
        .send()
        .await
        .map_err(|e| call_error(&e))?;
    Ok(rejected(out.unprocessed_accounts(), |_| false))
}

pub async fn create_members(
    client: &Client,
    detector_id: &str,
    accounts: Vec<(String, String)>,
) -> Result<Vec<Rejected>, CallError> {
    let details = accounts
        .into_iter()
        .map(|(account_id, email)| {
            AccountDetail::builder()
                .account_id(account_id)
                .email(email)
                .build()
        })
        .collect();
    let out = client
        .create_members()
        .detector_id(detector_id)
        .set_account_details(Some(details))
        .send()
        .await
        .map_err(|e| call_error(&e))?;
    Ok(rejected(out.unprocessed_accounts(), is_already_member))
}

pub async fn invite_members(
    client: &Client,
    detector_id: &str,
    account_ids: Vec<String>,
    message: Option<String>,
    disable_email_notification: bool,
) -> Result<Vec<Rejected>, CallError> {
    let out = client
        .invite_members()
        .detector_id(detector_id)
        .set_account_ids(Some(account_ids))
        .set_message(message)
        .disable_email_notification(disable_email_notification)
        .send()
        .await
        .map_err(|e| call_error(&e))?;
    Ok(rejected(out.unprocessed_accounts(), |_| false))
}

/// GuardDuty's `CreateMembers` answers "already a member" for an account that
/// is one ("The request is rejected because the given account ID is already
/// a member or associated member of the current account.").
pub fn is_already_member(result: &str) -> bool {
    let result = result.to_ascii_lowercase();
    result.contains("already") && result.contains("member") && !result.contains("different")
}

fn record(member: &Member) -> Option<MemberRecord> {
    Some(MemberRecord {
        account_id: member.account_id()?.to_owned(),
        status: MemberStatus::parse(member.relationship_status().unwrap_or_default()),
        email: member.email().map(str::to_owned),
        invited_at: member.invited_at().map(str::to_owned),
        administrator_id: member
            .administrator_id()
            .or(member.master_id())
            .map(str::to_owned),
    })
}

fn rejected(accounts: &[UnprocessedAccount], already_member: fn(&str) -> bool) -> Vec<Rejected> {
    accounts
        .iter()
        .filter_map(|u| {
            let result = u.result()?;
            Some(Rejected {
                account_id: u.account_id()?.to_owned(),
                already_member: already_member(result),
                result: result.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn already_a_member_is_not_a_failure() {
        assert!(is_already_member(
            "The request is rejected because the input account is already a member of the current account."
        ));
        assert!(!is_already_member(
            "The request is rejected because the account is already associated with a different administrator account."
        ));
        assert!(!is_already_member("The email address is invalid."));
    }
}
