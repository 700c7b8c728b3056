//! AWS Account: which Regions are enabled for the account (`regions: "all"`).

use aws_sdk_account::Client;
use aws_sdk_account::types::RegionOptStatus;

use super::error::call_error;
use crate::plan::CallError;

/// The names of every Region whose status is `ENABLED` or
/// `ENABLED_BY_DEFAULT`, every page, in the order listed.
pub async fn enabled_regions(client: &Client) -> Result<Vec<String>, CallError> {
    let mut pages = client
        .list_regions()
        .region_opt_status_contains(RegionOptStatus::Enabled)
        .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
        .into_paginator()
        .send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error(&e))?;
        names.extend(
            page.regions()
                .iter()
                .filter(|r| {
                    matches!(
                        r.region_opt_status(),
                        Some(RegionOptStatus::Enabled | RegionOptStatus::EnabledByDefault)
                    )
                })
                .filter_map(|r| r.region_name().map(str::to_owned)),
        );
    }
    Ok(names)
}
