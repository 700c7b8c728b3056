//! GuardDuty per Region through clients of several Regions on one endpoint,
//! Regions GuardDuty refuses, AWS Account ListRegions, and the per-Region
//! in-flight keys.

use std::time::Duration;

use aws_sdk_account::types::RegionOptStatus;
use aws_sdk_guardduty::error::ProvideErrorMetadata;
use emulator::{DEFAULT_REGIONS, Emulator, Fault};

mod common;
use common::{DET, Retry, config_in, detector_ids, get_members, guardduty_in, invite, sample};

const EU: &str = "eu-west-1";
const REFUSED: &str = "The security token included in the request is invalid.";

#[tokio::test]
async fn detectors_and_members_are_kept_per_region() {
    let emu = Emulator::start().await.unwrap();
    emu.add_detector("det-us");
    emu.add_detector_in(EU, "det-eu");
    emu.put_member_in(EU, "det-eu", "111111111111", "a@example.com", "Created");
    let us = guardduty_in(&emu, "us-east-1").await;
    let eu = guardduty_in(&emu, EU).await;

    let listed = us.list_detectors().send().await.unwrap();
    assert_eq!(listed.detector_ids(), ["det-us"]);
    let listed = eu.list_detectors().send().await.unwrap();
    assert_eq!(listed.detector_ids(), ["det-eu"]);

    // A detector is only the account's in its own Region.
    let err = get_members(&us, "det-eu", &["111111111111"]).await;
    let err = err.unwrap_err().into_service_error();
    assert!(err.message().unwrap().contains("detectorId is not owned"));
    let out = get_members(&eu, "det-eu", &["111111111111"]).await.unwrap();
    assert_eq!(out.members()[0].relationship_status(), Some("Created"));

    let out = invite(&eu, "det-eu", &["111111111111"]).await.unwrap();
    assert!(out.unprocessed_accounts().is_empty());
    let m = emu.member_in(EU, "det-eu", "111111111111").unwrap();
    assert_eq!(m.relationship_status, "Invited");
    assert!(emu.member("det-eu", "111111111111").is_none());
    assert_eq!(emu.members_in(EU, "det-eu").len(), 1);
    // The invitation is in the member's account, in that Region only.
    let invitations = emu.invitations("111111111111", EU);
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0].account_id, "999999999999");
    assert_eq!(invitations[0].relationship_status, "Invited");
    assert_eq!(invitations[0].invitation_id.len(), 32);
    assert!(emu.invitations("111111111111", "us-east-1").is_empty());

    // Every call is recorded with its Region and acting account.
    let regions: Vec<(String, String)> = emu
        .calls()
        .iter()
        .map(|c| (c.region.clone(), c.account.clone()))
        .collect();
    assert_eq!(
        regions[0],
        ("us-east-1".to_string(), "999999999999".to_string())
    );
    assert_eq!(regions[1].0, EU);
    assert_eq!(emu.detectors_of("999999999999", EU), ["det-eu"]);

    // A Region without a detector simply has none.
    let west = guardduty_in(&emu, "us-west-1").await;
    assert!(detector_ids(&west).await.is_empty());
    emu.stop().await;
}

#[tokio::test]
async fn a_disabled_region_refuses_every_guardduty_call() {
    let emu = sample().await;
    emu.add_detector_in("ap-east-1", "det-hk");
    emu.disable_region("ap-east-1");
    emu.inject("ListDetectors", Fault::Throttle, 1);
    let hk = guardduty_in(&emu, "ap-east-1").await;

    let err = hk.list_detectors().send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(err.code(), Some("UnrecognizedClientException"));
    assert_eq!(err.message(), Some(REFUSED));
    let err = get_members(&hk, "det-hk", &["111111111111"])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnrecognizedClientException"));
    // Not retried, and the queued fault is left for a Region that answers.
    assert_eq!(emu.count("ListDetectors"), 1);
    let calls = emu.calls();
    assert_eq!((calls[0].status, calls[0].fault), (Some(403), None));
    let us = guardduty_in(&emu, "us-east-1").await;
    us.list_detectors().send().await.unwrap();
    assert_eq!(emu.calls()[2].fault, Some(Fault::Throttle));

    emu.enable_region("ap-east-1");
    let listed = hk.list_detectors().send().await.unwrap();
    assert_eq!(listed.detector_ids(), ["det-hk"]);

    // The sample lists me-south-1 DISABLED: an opt-in Region not enabled.
    let bahrain = guardduty_in(&emu, "me-south-1").await;
    let err = bahrain.list_detectors().send().await.unwrap_err();
    assert_eq!(err.message(), Some(REFUSED));
    emu.stop().await;
}

async fn account(emu: &Emulator) -> aws_sdk_account::Client {
    aws_sdk_account::Client::new(&config_in(emu, "us-east-1", Retry::Fast).await)
}

/// Every page of ListRegions with these statuses (none: unfiltered).
async fn list_regions(
    client: &aws_sdk_account::Client,
    statuses: &[RegionOptStatus],
) -> Vec<(String, String)> {
    let req = client
        .list_regions()
        .set_region_opt_status_contains((!statuses.is_empty()).then(|| statuses.to_vec()));
    let pages: Vec<_> = req.into_paginator().send().try_collect().await.unwrap();
    pages
        .iter()
        .flat_map(|p| p.regions())
        .map(|r| {
            let status = r.region_opt_status().map(|s| s.as_str().to_string());
            (r.region_name().unwrap().to_string(), status.unwrap())
        })
        .collect()
}

#[tokio::test]
async fn list_regions_pages_and_filters() {
    let emu = Emulator::start().await.unwrap();
    let client = account(&emu).await;

    // Default: the 34 commercial Regions, in two pages of 20.
    let all = list_regions(&client, &[]).await;
    let want: Vec<(String, String)> = DEFAULT_REGIONS
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    assert_eq!(all, want);
    assert_eq!(emu.count("ListRegions"), 2);
    let enabled = [RegionOptStatus::Enabled, RegionOptStatus::EnabledByDefault];
    let on = list_regions(&client, &enabled).await;
    assert_eq!(on.len(), 17);
    assert!(on.iter().all(|(_, s)| s == "ENABLED_BY_DEFAULT"));

    // A configured list, in small pages; MaxResults lowers the page size.
    emu.set_regions(&[
        ("us-east-1", "ENABLED_BY_DEFAULT"),
        ("ap-east-1", "ENABLED"),
        ("me-south-1", "DISABLED"),
        ("il-central-1", "ENABLING"),
        ("eu-south-1", "DISABLING"),
        ("eu-west-1", "ENABLED_BY_DEFAULT"),
    ]);
    emu.set_regions_page_size(2);
    emu.reset_calls();
    let on = list_regions(&client, &enabled).await;
    let names: Vec<&str> = on.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["us-east-1", "ap-east-1", "eu-west-1"]);
    assert_eq!(emu.count("ListRegions"), 2);
    let page = client.list_regions().max_results(1).send().await.unwrap();
    assert_eq!(page.regions().len(), 1);
    assert!(page.next_token().is_some());
    let changing = list_regions(
        &client,
        &[RegionOptStatus::Enabling, RegionOptStatus::Disabling],
    );
    assert_eq!(changing.await.len(), 2);
    assert_eq!(emu.regions().len(), 6);

    // Limits and tokens.
    let err = client
        .list_regions()
        .max_results(51)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    assert!(err.into_service_error().is_validation_exception());
    let err = client
        .list_regions()
        .next_token("nope")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_validation_exception());
    emu.stop().await;
}

#[tokio::test]
async fn list_regions_faults_and_latency() {
    let emu = sample().await;
    let client = account(&emu).await;
    emu.inject("ListRegions", Fault::Throttle, 1);
    emu.set_latency("ListRegions", Duration::from_millis(100));
    let started = std::time::Instant::now();
    let page = client.list_regions().send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(page.regions().len(), emulator::SAMPLE_REGIONS_PAGE_SIZE);
    let calls = emu.calls();
    assert_eq!(
        (calls[0].status, calls[0].service.as_str()),
        (Some(429), "account")
    );

    emu.inject("ListRegions", Fault::AccessDenied, 1);
    let err = client.list_regions().send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert!(err.into_service_error().is_access_denied_exception());
    emu.inject("ListRegions", Fault::ServerError, usize::MAX);
    let err = client.list_regions().send().await.unwrap_err();
    assert!(err.into_service_error().is_internal_server_exception());
    emu.stop().await;
}

#[tokio::test]
async fn the_sample_spans_regions() {
    let emu = sample().await;
    let client = account(&emu).await;
    let enabled = [RegionOptStatus::Enabled, RegionOptStatus::EnabledByDefault];
    let on = list_regions(&client, &enabled).await;
    assert_eq!(on.len(), 18);
    assert!(on.contains(&("ap-east-1".to_string(), "ENABLED".to_string())));
    assert_eq!(emu.count("ListRegions"), 2, "more than one page");
    let all = list_regions(&client, &[]).await;
    assert!(all.contains(&("me-south-1".to_string(), "DISABLED".to_string())));

    for (region, detector) in [
        ("us-east-1", DET),
        (EU, emulator::SAMPLE_DETECTOR_ID_EU_WEST_1),
        ("us-west-2", emulator::SAMPLE_DETECTOR_ID_US_WEST_2),
    ] {
        let gd = guardduty_in(&emu, region).await;
        let listed = gd.list_detectors().send().await.unwrap();
        assert_eq!(listed.detector_ids(), [detector], "{region}");
    }
    let hk = guardduty_in(&emu, "ap-east-1").await;
    assert!(detector_ids(&hk).await.is_empty());
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_is_counted_per_service_region_and_account() {
    let emu = sample().await;
    emu.set_latency("ListDetectors", Duration::from_millis(200));
    let us = guardduty_in(&emu, "us-east-1").await;
    let eu = guardduty_in(&emu, EU).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..5 {
        let gd = if i < 3 { us.clone() } else { eu.clone() };
        set.spawn(async move { gd.list_detectors().send().await.map(|_| ()) });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(emu.max_in_flight("guardduty"), 5);
    assert_eq!(emu.max_in_flight_in("guardduty", "us-east-1"), 3);
    assert_eq!(emu.max_in_flight_in("guardduty", EU), 2);
    assert_eq!(emu.max_in_flight_for("guardduty", EU, "999999999999"), 2);
    assert_eq!(emu.max_in_flight_for("guardduty", EU, "191919191919"), 0);
    let keys = emu.max_in_flight_by_key();
    assert_eq!(keys.get("guardduty:us-east-1:999999999999"), Some(&3));
    emu.reset_calls();
    assert_eq!(emu.max_in_flight_in("guardduty", "us-east-1"), 0);
    emu.stop().await;
}
