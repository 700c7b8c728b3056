//! The GuardDuty calls, reduced to what the plan needs to know.

use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::types::{AccountDetail, UnprocessedAccount};

use crate::aws::error_text;

/// The region's detector, if there is one (there is at most one).
pub async fn list_detectors(client: &Client) -> Result<Option<String>, String> {
    let mut pages = client.list_detectors().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| error_text(&e))?;
        if let Some(id) = page.detector_ids().first() {
            return Ok(Some(id.clone()));
        }
    }
    Ok(None)
}

/// The IDs among `account_ids` that are members of the detector, whatever
/// their relationship status.
pub async fn get_members(
    client: &Client,
    detector_id: &str,
    account_ids: Vec<String>,
) -> Result<Vec<String>, String> {
    let out = client
        .get_members()
        .detector_id(detector_id)
        .set_account_ids(Some(account_ids))
        .send()
        .await
        .map_err(|e| error_text(&e))?;
    Ok(out
        .members()
        .iter()
        .filter_map(|m| m.account_id().map(str::to_owned))
        .collect())
}

pub async fn create_members(
    client: &Client,
    detector_id: &str,
    accounts: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, String> {
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
        .map_err(|e| error_text(&e))?;
    Ok(unprocessed(out.unprocessed_accounts()))
}

pub async fn invite_members(
    client: &Client,
    detector_id: &str,
    account_ids: Vec<String>,
    message: Option<String>,
    disable_email_notification: bool,
) -> Result<Vec<(String, String)>, String> {
    let out = client
        .invite_members()
        .detector_id(detector_id)
        .set_account_ids(Some(account_ids))
        .set_message(message)
        .disable_email_notification(disable_email_notification)
        .send()
        .await
        .map_err(|e| error_text(&e))?;
    Ok(unprocessed(out.unprocessed_accounts()))
}

fn unprocessed(accounts: &[UnprocessedAccount]) -> Vec<(String, String)> {
    accounts
        .iter()
        .filter_map(|u| Some((u.account_id()?.to_owned(), u.result()?.to_owned())))
        .collect()
}
