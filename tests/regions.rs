//! Regions through the real SDK clients against the emulator: one function,
//! many Regions' detectors on one endpoint (the emulator reads each request's
//! Region from its SigV4 scope), `"all"` through AWS Account `ListRegions`,
//! refused Regions, one invitation e-mail per account.

mod support;

use emulator::{
    Fault, SAMPLE_DETECTOR_ID, SAMPLE_DETECTOR_ID_EU_WEST_1, SAMPLE_DETECTOR_ID_US_WEST_2,
};
use guardduty_inviter::aws::AwsClients;
use guardduty_inviter::config::Settings;
use guardduty_inviter::handler::Inviter;
use guardduty_inviter::regions::Regions;
use guardduty_inviter::response::{FailCode, MultiRegion, RegionResponse, SkipCode};
use guardduty_inviter::testing::assert_exactly_once;
use serde_json::{Value, json};
use support::*;

const REGIONS: [&str; 3] = ["us-west-2", "us-east-1", "eu-west-1"];

async fn multi(inviter: &Inviter<AwsClients>, event: Value) -> MultiRegion {
    inviter
        .invite(
            &event.to_string(),
            Some(ADMIN),
            Some(std::time::Duration::from_secs(30)),
        )
        .await
        .unwrap()
        .multi()
        .expect("a multi-Region answer")
}

fn region<'a>(answer: &'a MultiRegion, name: &str) -> &'a RegionResponse {
    answer.regions.iter().find(|r| r.region == name).unwrap()
}

#[tokio::test]
async fn each_region_invites_with_its_own_detector_and_organizations_is_asked_once() {
    let emu = sample().await;
    let inviter = inviter(&emu, Settings::default()).await;
    let event = json!({
        "accountIds": ["222222222222"],
        "accounts": [
            {"accountId": "333333333333", "email": "sec3@example.com"},
            {"accountId": "777777777777", "email": "sec7@example.com"}
        ],
        "regions": REGIONS,
    });
    let answer = multi(&inviter, event).await;
    let named: Vec<&str> = answer.regions.iter().map(|r| r.region.as_str()).collect();
    assert_eq!(named, REGIONS, "the order given");
    let detectors = [
        SAMPLE_DETECTOR_ID_US_WEST_2,
        SAMPLE_DETECTOR_ID,
        SAMPLE_DETECTOR_ID_EU_WEST_1,
    ];
    for (r, detector) in answer.regions.iter().zip(detectors) {
        assert_exactly_once(
            &["222222222222", "333333333333", "777777777777"],
            &r.response,
        );
        assert_eq!(r.response.detector_id.as_deref(), Some(detector));
        assert_eq!(
            r.response.invited_accounts,
            ["333333333333", "777777777777"]
        );
        assert_eq!(
            r.response.skipped_accounts[0].code,
            SkipCode::OrganizationMember
        );
        let member = emu.member_in(&r.region, detector, "777777777777").unwrap();
        assert_eq!(member.relationship_status, "Invited");
    }
    // Organizations: asked as for one Region (three accounts, described).
    assert_eq!(emu.count("DescribeAccount"), 3);
    assert_eq!(emu.count("ListAccounts"), 0);
    // GuardDuty: three times what one Region takes.
    for op in [
        "ListDetectors",
        "GetMembers",
        "CreateMembers",
        "InviteMembers",
    ] {
        let calls = emu.calls();
        for r in REGIONS {
            let n = calls.iter().filter(|c| c.op == op && c.region == r).count();
            assert_eq!(n, 1, "{op} in {r}");
        }
    }
    for r in REGIONS {
        assert!(emu.max_in_flight_in("guardduty", r) <= 5);
    }
}

#[tokio::test]
async fn the_invitation_email_goes_out_in_the_first_region_only() {
    let emu = sample().await;
    let inviter = inviter(&emu, Settings::default()).await;
    // 111111111111 is a Removed member in us-east-1 only: elsewhere it needs
    // an e-mail, so it is invited in us-east-1 alone, with the e-mail.
    // 333333333333 is new everywhere: the e-mail goes out in us-west-2.
    let event = json!({
        "accountIds": ["111111111111"],
        "accounts": [{"accountId": "333333333333", "email": "sec3@example.com"}],
        "regions": REGIONS,
    });
    let answer = multi(&inviter, event).await;
    let flags = |account: &str| -> Vec<(String, Option<bool>)> {
        emu.calls()
            .into_iter()
            .filter(|c| c.op == "InviteMembers" && c.accounts.iter().any(|a| a == account))
            .map(|c| (c.region, c.disable_email_notification))
            .collect()
    };
    let mut new = flags("333333333333");
    new.sort();
    assert_eq!(
        new,
        [
            ("eu-west-1".to_string(), Some(true)),
            ("us-east-1".to_string(), Some(true)),
            ("us-west-2".to_string(), Some(false)),
        ]
    );
    assert_eq!(
        flags("111111111111"),
        [("us-east-1".to_string(), Some(false))]
    );
    let unprocessed = &region(&answer, "eu-west-1").response.unprocessed_accounts;
    assert_eq!(unprocessed[0].code, FailCode::EmailRequired);
}

#[tokio::test]
async fn all_regions_come_from_list_regions_sorted_over_several_pages() {
    let emu = sample().await;
    let inviter = inviter(&emu, Settings::default()).await;
    let event = json!({"accountIds": ["111111111111", "222222222222"], "regions": "all"});
    let answer = multi(&inviter, event.clone()).await;
    let enabled: Vec<String> = {
        let mut names: Vec<String> = emu
            .regions()
            .into_iter()
            .filter(|(_, status)| status == "ENABLED" || status == "ENABLED_BY_DEFAULT")
            .map(|(name, _)| name)
            .collect();
        names.sort();
        names
    };
    let listed: Vec<String> = answer.regions.iter().map(|r| r.region.clone()).collect();
    assert_eq!(listed, enabled);
    assert!(
        listed.contains(&"ap-east-1".to_string()),
        "an enabled opt-in Region"
    );
    assert!(
        !listed.contains(&"me-south-1".to_string()),
        "a disabled one"
    );
    assert!(emu.count("ListRegions") >= 2, "more than one page");
    for r in &answer.regions {
        assert_exactly_once(&["111111111111", "222222222222"], &r.response);
        let with_detector = ["us-east-1", "eu-west-1", "us-west-2"].contains(&r.region.as_str());
        assert_eq!(
            r.response.detector_id.is_some(),
            with_detector,
            "{}",
            r.region
        );
        if !with_detector {
            let u = &r.response.unprocessed_accounts[0];
            assert_eq!((u.code, u.retryable), (FailCode::RegionUnavailable, false));
            assert!(u.result.contains(&r.region), "{}", u.result);
        }
    }
    // A warm process remembers the list.
    let before = emu.count("ListRegions");
    multi(&inviter, event).await;
    assert_eq!(emu.count("ListRegions"), before);
}

#[tokio::test]
async fn a_region_that_refuses_the_account_is_unavailable_and_the_others_go_on() {
    let emu = sample().await;
    emu.disable_region("eu-west-1");
    let inviter = inviter(&emu, Settings::default()).await;
    let event = json!({"accountIds": ["111111111111"], "regions": ["us-east-1", "eu-west-1"]});
    let answer = multi(&inviter, event).await;
    assert_eq!(
        region(&answer, "us-east-1").response.invited_accounts,
        ["111111111111"]
    );
    let refused = &region(&answer, "eu-west-1").response;
    assert_eq!(refused.detector_id, None);
    let u = &refused.unprocessed_accounts[0];
    assert_eq!(u.code, FailCode::RegionUnavailable);
    assert!(
        u.result.contains("UnrecognizedClientException"),
        "{}",
        u.result
    );
}

#[tokio::test]
async fn list_regions_failing_fails_the_invocation_and_invites_nothing() {
    let emu = sample().await;
    emu.inject("ListRegions", Fault::AccessDenied, 1);
    let inviter = inviter(&emu, Settings::default()).await;
    let event = json!({"accountIds": ["111111111111"], "regions": "all"});
    let error = inviter
        .invite(&event.to_string(), Some(ADMIN), None)
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "RegionDiscoveryFailed");
    assert!(error.to_string().contains("account:ListRegions"), "{error}");
    assert_eq!(emu.count("InviteMembers"), 0);
}

#[tokio::test]
async fn the_regions_setting_applies_when_the_event_names_none() {
    let emu = sample().await;
    let settings = Settings {
        regions: Some(Regions::Named(vec!["eu-west-1".into(), "us-east-1".into()])),
        ..Settings::default()
    };
    let inviter = inviter(&emu, settings).await;
    let answer = multi(&inviter, json!(["111111111111"])).await;
    let named: Vec<&str> = answer.regions.iter().map(|r| r.region.as_str()).collect();
    assert_eq!(named, ["eu-west-1", "us-east-1"]);
    // The event's Regions win.
    let answer = multi(
        &inviter,
        json!({"accountId": "111111111111", "regions": ["us-west-2"]}),
    )
    .await;
    assert_eq!(answer.regions[0].region, "us-west-2");
    // A detector with more than one Region is ambiguous.
    let error = inviter
        .invite(
            &json!({"accountId": "111111111111", "detectorId": "d1"}).to_string(),
            Some(ADMIN),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "InvalidEvent");
    assert!(emu.count("InviteMembers") <= 2);
}

#[tokio::test]
async fn one_named_region_answers_with_the_multi_region_shape() {
    let emu = sample().await;
    let inviter = inviter(&emu, Settings::default()).await;
    let event = json!({"accountIds": ["111111111111"], "regions": ["us-east-1"], "detectorId": SAMPLE_DETECTOR_ID});
    let answer = multi(&inviter, event).await;
    assert_eq!(answer.regions.len(), 1);
    let body = serde_json::to_value(&answer).unwrap();
    assert_eq!(body["dryRun"], false);
    assert!(body["regions"][0].get("dryRun").is_none());
    assert_eq!(body["regions"][0]["region"], "us-east-1");
    assert_eq!(
        body["regions"][0]["invitedAccounts"],
        json!(["111111111111"])
    );
    assert_eq!(
        emu.count("ListDetectors"),
        0,
        "the event's detector is used"
    );
}
