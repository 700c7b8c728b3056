//! SPEC.md, row by row and error by error: the real handler, the real SDK
//! clients over HTTP, the project's emulator on 127.0.0.1.

mod support;

use std::time::Duration;

use emulator::{Emulator, Fault};
use guardduty_inviter::config::{OrganizationsCheck, Settings};
use guardduty_inviter::error::InvocationError;
use guardduty_inviter::response::FailCode;
use guardduty_inviter::testing::account_ids;
use serde_json::json;
use support::*;

#[tokio::test]
async fn sample_event_invites_skips_and_creates() {
    let emu = sample().await;
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(
        &inviter,
        json!({
            "accountIds": ["111111111111", "222222222222"],
            "accounts": [{"accountId": "333333333333", "email": "sec@example.com"}],
            "message": "Please accept"
        }),
    )
    .await
    .unwrap();
    assert_eq!(response.detector_id.as_deref(), Some(DETECTOR));
    assert_eq!(response.invited_accounts, ["111111111111", "333333333333"]);
    assert_eq!(response.skipped_accounts.len(), 1);
    assert_eq!(response.skipped_accounts[0].account_id, "222222222222");
    assert_eq!(
        response.skipped_accounts[0].reason,
        "managed by AWS Organizations (o-exampleorgid)"
    );
    assert!(response.unprocessed_accounts.is_empty());
    assert!(!response.dry_run);
    assert_eq!(response.would_invite_accounts, None);
    // The Removed member is invited again without CreateMembers; the new one is created first.
    let created: Vec<String> = emu
        .calls()
        .into_iter()
        .filter(|c| c.op == "CreateMembers")
        .flat_map(|c| c.accounts)
        .collect();
    assert_eq!(created, ["333333333333"]);
    let member = emu.member(DETECTOR, "333333333333").unwrap();
    assert_eq!(member.relationship_status, "Invited");
    assert_eq!(member.email, "sec@example.com");
    assert_eq!(member.invited_message.as_deref(), Some("Please accept"));
    assert_eq!(
        emu.member(DETECTOR, "111111111111")
            .unwrap()
            .relationship_status,
        "Invited"
    );
    let serialized = serde_json::to_value(&response).unwrap();
    assert!(serialized.get("wouldInviteAccounts").is_none());
    assert_eq!(serialized["unprocessedAccounts"], json!([]));
}

#[tokio::test]
async fn invalid_ids_own_account_and_bad_emails_are_unprocessed_without_a_call() {
    let emu = sample().await;
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(
        &inviter,
        json!({
            "accountIds": ["12345", "1234567890123", "12345678901a", "١٢٣٤٥٦٧٨٩٠١٢", ADMIN],
            "accounts": [
                {"accountId": "777777777777", "email": ""},
                {"accountId": "777777777778", "email": "no-at-sign.example.com"},
                {"accountId": "777777777779", "email": format!("{}@example.com", "a".repeat(60))},
                {"accountId": "777777777780"}
            ]
        }),
    )
    .await
    .unwrap();
    assert!(response.invited_accounts.is_empty());
    assert_eq!(response.detector_id, None, "no GuardDuty call was needed");
    assert_eq!(response.unprocessed_accounts.len(), 9);
    for id in ["12345", "1234567890123", "12345678901a", "١٢٣٤٥٦٧٨٩٠١٢"] {
        assert!(
            result_of(&response, id).starts_with("invalid account ID"),
            "{id}"
        );
    }
    assert!(result_of(&response, ADMIN).contains("cannot invite itself"));
    for id in ["777777777777", "777777777778", "777777777779"] {
        assert!(
            result_of(&response, id).starts_with("invalid e-mail"),
            "{id}"
        );
    }
    assert!(result_of(&response, "777777777780").starts_with("e-mail missing"));
    assert!(emu.calls().is_empty(), "no AWS call: {:?}", emu.calls());
}

#[tokio::test]
async fn organization_members_of_any_status_are_skipped() {
    let emu = sample().await;
    emu.add_org_account("666666666666", "PENDING_CLOSURE");
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(
        &inviter,
        json!([
            "222222222222",
            "444444444444",
            "555555555555",
            "666666666666"
        ]),
    )
    .await
    .unwrap();
    let skipped: Vec<&str> = response
        .skipped_accounts
        .iter()
        .map(|s| s.account_id.as_str())
        .collect();
    assert_eq!(
        skipped,
        [
            "222222222222",
            "444444444444",
            "555555555555",
            "666666666666"
        ]
    );
    assert!(response.invited_accounts.is_empty());
    assert_eq!(response.detector_id, None);
    assert_eq!(emu.count("InviteMembers") + emu.count("ListDetectors"), 0);
}

#[tokio::test]
async fn unknown_membership_is_never_invited() {
    let emu = sample().await;
    emu.inject_for_account(
        "DescribeAccount",
        "666666666666",
        Fault::ServerError,
        usize::MAX,
    );
    emu.put_member(DETECTOR, "666666666666", "a@example.com", "Created");
    emu.put_member(DETECTOR, "777777777777", "b@example.com", "Created");
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(&inviter, json!(["666666666666", "777777777777"]))
        .await
        .unwrap();
    assert_eq!(response.invited_accounts, ["777777777777"]);
    let result = result_of(&response, "666666666666");
    assert!(result.contains("could not be determined"), "{result}");
    assert!(result.contains("ServiceException"), "{result}");
    assert!(!invited_on_the_wire(&emu).contains(&"666666666666".to_string()));
}

#[tokio::test]
async fn create_members_refusal_is_reported_with_guardduty_result() {
    let emu = sample().await;
    let inviter = inviter(&emu, without_organizations_check()).await;
    // The emulator refuses to make the administrator a member of itself; the
    // function runs as another account here, so only GuardDuty catches it.
    let event = json!({"accounts": [
        {"accountId": ADMIN, "email": "admin@example.com"},
        {"accountId": "777777777777", "email": "new@example.com"}
    ]});
    let response = inviter
        .invite(
            &event.to_string(),
            Some("123456789012"),
            Some(Duration::from_secs(30)),
        )
        .await
        .map(single)
        .unwrap();
    assert_eq!(response.invited_accounts, ["777777777777"]);
    assert!(result_of(&response, ADMIN).contains("member of itself"));
    assert!(!invited_on_the_wire(&emu).contains(&ADMIN.to_string()));
}

#[tokio::test]
async fn already_a_member_race_is_not_a_failure() {
    let emu = sample().await;
    // GetMembers says "not a member", then someone else creates it before
    // our CreateMembers: GuardDuty answers "already a member".
    emu.inject_for_account("GetMembers", "777777777777", Fault::ResetMidResponse, 0);
    let inviter = inviter(&emu, Settings::default()).await;
    let first = invoke(
        &inviter,
        json!({"accounts": [{"accountId": "777777777777", "email": "a@example.com"}]}),
    )
    .await
    .unwrap();
    assert_eq!(first.invited_accounts, ["777777777777"]);
    // Now a CreateMembers whose response is lost after it ran: the SDK
    // retries it and GuardDuty answers "already a member".
    emu.inject("CreateMembers", Fault::ResetMidResponse, 1);
    let response = invoke(
        &inviter,
        json!({"accounts": [{"accountId": "888888888888", "email": "b@example.com"}]}),
    )
    .await
    .unwrap();
    assert_eq!(response.invited_accounts, ["888888888888"], "{response:?}");
    assert_eq!(emu.count("CreateMembers"), 3);
}

#[tokio::test]
async fn invite_members_refusal_is_reported_with_guardduty_result() {
    let emu = sample().await;
    emu.put_member(DETECTOR, "777777777777", "a@example.com", "Created");
    emu.refuse_invitation(
        "777777777777",
        "The request is rejected because the account has opted out.",
    );
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(&inviter, json!(["777777777777", "111111111111"]))
        .await
        .unwrap();
    assert_eq!(response.invited_accounts, ["111111111111"]);
    // GuardDuty's own result, passed through.
    assert_eq!(
        result_of(&response, "777777777777"),
        "The request is rejected because the account has opted out."
    );
}

#[tokio::test]
async fn a_failed_batch_leaves_other_batches_alone() {
    let emu = sample().await;
    let ids = account_ids(700_000_000_000, 120);
    seed_members(&emu, &ids);
    // Every attempt of the batch holding this account fails.
    emu.inject_for_account("InviteMembers", &ids[60], Fault::ServerError, usize::MAX);
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(&inviter, json!({"accountIds": ids})).await.unwrap();
    assert_eq!(response.invited_accounts.len(), 70);
    assert_eq!(response.unprocessed_accounts.len(), 50);
    for u in &response.unprocessed_accounts {
        assert!(u.result.starts_with("InviteMembers failed"), "{}", u.result);
        assert!(
            u.result.contains("InternalServerErrorException"),
            "{}",
            u.result
        );
    }
    assert!(result_of(&response, &ids[60]).contains("InviteMembers failed"));
}

#[tokio::test]
async fn not_in_an_organization_means_everyone_is_invited() {
    let emu = sample().await;
    emu.clear_organization();
    emu.put_member(DETECTOR, "222222222222", "a@example.com", "Created");
    emu.put_member(DETECTOR, "777777777777", "b@example.com", "Created");
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(&inviter, json!(["222222222222", "777777777777"]))
        .await
        .unwrap();
    assert_eq!(response.invited_accounts, ["222222222222", "777777777777"]);
    assert!(response.skipped_accounts.is_empty());
}

#[tokio::test]
async fn organizations_check_off_makes_no_organizations_call() {
    let emu = sample().await;
    emu.put_member(DETECTOR, "222222222222", "a@example.com", "Created");
    let inviter = inviter(&emu, without_organizations_check()).await;
    let response = invoke(&inviter, json!(["222222222222"])).await.unwrap();
    assert_eq!(response.invited_accounts, ["222222222222"]);
    assert!(emu.calls().iter().all(|c| c.service == "guardduty"));
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let emu = sample().await;
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(
        &inviter,
        json!({"accountIds": ["111111111111", "222222222222", "12345"],
               "accounts": [{"accountId": "777777777777", "email": "a@example.com"}],
               "dryRun": true}),
    )
    .await
    .unwrap();
    assert!(response.dry_run);
    assert!(response.invited_accounts.is_empty());
    assert_eq!(
        response.would_invite_accounts.as_deref(),
        Some(&["111111111111".to_string(), "777777777777".to_string()][..])
    );
    assert_eq!(response.skipped_accounts.len(), 1);
    assert_eq!(response.unprocessed_accounts.len(), 1);
    assert_eq!(response.detector_id.as_deref(), Some(DETECTOR));
    assert_eq!(emu.count("InviteMembers") + emu.count("CreateMembers"), 0);
    assert_eq!(
        emu.member(DETECTOR, "111111111111")
            .unwrap()
            .relationship_status,
        "Removed"
    );
    assert!(emu.member(DETECTOR, "777777777777").is_none());
}

#[tokio::test]
async fn detector_comes_from_event_then_setting_then_list_detectors_once() {
    let emu = sample().await;
    emu.add_detector("fromevent");
    emu.add_detector("fromsetting");
    emu.put_member("fromevent", "777777777777", "a@example.com", "Created");
    emu.put_member("fromsetting", "777777777777", "a@example.com", "Created");

    let inviter_default = inviter(&emu, Settings::default()).await;
    for _ in 0..3 {
        let r = invoke(&inviter_default, json!(["111111111111"]))
            .await
            .unwrap();
        assert_eq!(r.detector_id.as_deref(), Some(DETECTOR));
    }
    assert_eq!(
        emu.count("ListDetectors"),
        1,
        "remembered by the warm process"
    );

    let with_setting = inviter(
        &emu,
        Settings {
            detector_id: Some("fromsetting".into()),
            ..Settings::default()
        },
    )
    .await;
    let r = invoke(&with_setting, json!(["777777777777"]))
        .await
        .unwrap();
    assert_eq!(r.detector_id.as_deref(), Some("fromsetting"));
    let r = invoke(
        &with_setting,
        json!({"accountIds": ["777777777777"], "detectorId": "fromevent"}),
    )
    .await
    .unwrap();
    assert_eq!(r.detector_id.as_deref(), Some("fromevent"));
    assert_eq!(r.invited_accounts, ["777777777777"]);
    assert_eq!(emu.count("ListDetectors"), 1);
}

#[tokio::test]
async fn no_detector_is_detector_not_found() {
    let emu = Emulator::start().await.unwrap();
    emu.set_organization("o-exampleorgid", ADMIN);
    let inviter = inviter(&emu, Settings::default()).await;
    let error = invoke(&inviter, json!(["777777777777"])).await.unwrap_err();
    assert_eq!(error.error_type(), "DetectorNotFound");
    assert!(error.to_string().contains("GUARDDUTY_DETECTOR_ID"));
    assert_eq!(emu.count("InviteMembers") + emu.count("CreateMembers"), 0);
}

#[tokio::test]
async fn organizations_access_denied_fails_and_invites_nothing() {
    let emu = sample().await;
    emu.inject("DescribeAccount", Fault::AccessDenied, usize::MAX);
    emu.inject("ListAccounts", Fault::AccessDenied, usize::MAX);
    let inviter = inviter(&emu, Settings::default()).await;
    for event in [
        json!(["777777777777", "111111111111"]),
        json!({"accountIds": account_ids(700_000_000_000, 40)}),
    ] {
        let error = invoke(&inviter, event).await.unwrap_err();
        assert_eq!(error.error_type(), "OrganizationsAccessDenied");
        assert!(error.to_string().contains("Nothing was invited"));
    }
    assert_eq!(emu.count("InviteMembers") + emu.count("CreateMembers"), 0);
}

#[tokio::test]
async fn invalid_events_are_invalid_event_errors() {
    let emu = sample().await;
    let inviter = inviter(
        &emu,
        Settings {
            max_accounts_per_event: 3,
            ..Settings::default()
        },
    )
    .await;
    for event in [
        json!({"accountIds": "111111111111"}),
        json!({}),
        json!([]),
        json!(["111111111111", "222222222222", "333333333333", "bad"]),
        json!({"accountIds": ["111111111111"], "AccountIds": ["111111111111"]}),
        json!(17),
    ] {
        let error = invoke(&inviter, event.clone()).await.unwrap_err();
        assert!(
            matches!(error, InvocationError::InvalidEvent(_)),
            "{event}: {error:?}"
        );
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let error = inviter.invite(&deep, Some(ADMIN), None).await.unwrap_err();
    assert_eq!(error.error_type(), "InvalidEvent");
    assert!(emu.calls().is_empty());
}

#[tokio::test]
async fn warm_invocations_reuse_what_organizations_said() {
    let emu = sample().await;
    let inviter = inviter(&emu, Settings::default()).await;
    let event = json!(["222222222222", "777777777777"]);
    let first = invoke(&inviter, event.clone()).await.unwrap();
    let org_calls = |emu: &Emulator| {
        emu.calls()
            .iter()
            .filter(|c| c.service == "organizations")
            .count()
    };
    assert_eq!(org_calls(&emu), 2);
    let second = invoke(&inviter, event.clone()).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        org_calls(&emu),
        2,
        "a warm invocation within the TTL asks nothing"
    );

    let no_cache = support::inviter(
        &emu,
        Settings {
            organizations_cache: Duration::ZERO,
            ..Settings::default()
        },
    )
    .await;
    invoke(&no_cache, event.clone()).await.unwrap();
    invoke(&no_cache, event).await.unwrap();
    assert_eq!(
        org_calls(&emu),
        6,
        "ORGANIZATIONS_CACHE_SECONDS=0 asks every time"
    );
}

#[tokio::test]
async fn large_events_page_through_the_organization() {
    let emu = Emulator::start().await.unwrap();
    emu.add_detector(DETECTOR);
    let org = emu.large_organization(500, 7);
    emu.set_empty_pages(3);
    let outside = account_ids(100_000_000_000, 200);
    let mut ids: Vec<String> = org.iter().take(200).cloned().collect();
    ids.extend(outside.iter().cloned());
    seed_members(&emu, &outside);
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(&inviter, json!({"accountIds": ids})).await.unwrap();
    assert_eq!(response.skipped_accounts.len(), 200);
    assert_eq!(response.invited_accounts, outside);
    assert_eq!(emu.count("InviteMembers"), 4, "ceil(200/50)");
    assert!(emu.max_in_flight("guardduty") <= 5);
    assert!(emu.max_in_flight("organizations") <= 5);
    // The listing either finished (every page, empty ones included) or
    // the describes settled every account first.
    let pages = emu.count("ListAccounts");
    let describes = emu.count("DescribeAccount");
    assert!(
        pages > 0 && describes > 0,
        "raced: {pages} pages, {describes} describes"
    );
}

#[tokio::test]
async fn throttling_is_absorbed_by_sdk_retries() {
    let emu = sample().await;
    emu.inject("DescribeAccount", Fault::Throttle, 3);
    emu.inject("InviteMembers", Fault::Throttle, 2);
    emu.inject("ListDetectors", Fault::Throttle, 1);
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(
        &inviter,
        json!(["111111111111", "222222222222", "777777777777"]),
    )
    .await
    .unwrap();
    assert_eq!(response.invited_accounts, ["111111111111"]);
    assert_eq!(response.skipped_accounts.len(), 1);
    // 777777777777 is outside the organization but not a GuardDuty member,
    // and the event gives no e-mail to create it with.
    assert_eq!(
        response.unprocessed_accounts[0].code,
        FailCode::EmailRequired
    );
    assert_eq!(response.unprocessed_accounts[0].account_id, "777777777777");
}

fn members(emu: &Emulator, count: usize, base: u64) -> Vec<String> {
    let ids = account_ids(base, count);
    seed_members(emu, &ids);
    ids
}

#[tokio::test]
async fn lookups_stop_before_the_deadline_and_known_accounts_still_go_out() {
    let emu = Emulator::start().await.unwrap();
    emu.add_detector(DETECTOR);
    emu.large_organization(200, 3);
    emu.set_latency("DescribeAccount", Duration::from_millis(1000));
    emu.set_latency("ListAccounts", Duration::from_millis(1000));
    let ids = members(&emu, 12, 700_000_000_000);
    let inviter = inviter(&emu, Settings::default()).await;
    let remaining = Duration::from_millis(1800);
    let response = invoke_within(&inviter, &json!(ids), remaining).await;
    // One listing page and four describes fit before lookups stop; the four
    // described accounts are invited, the rest were never looked up.
    assert_eq!(response.invited_accounts.len(), 4, "{response:?}");
    assert_eq!(response.unprocessed_accounts.len(), 8);
    for u in &response.unprocessed_accounts {
        assert!(u.result.contains("not attempted"), "{}", u.result);
        assert!(u.result.contains("retrying is safe"), "{}", u.result);
    }
    assert!(!invited_on_the_wire(&emu).iter().any(|id| {
        response
            .unprocessed_accounts
            .iter()
            .any(|u| &u.account_id == id)
    }));
}

#[tokio::test]
async fn calls_in_flight_at_the_deadline_are_reported_as_unknown() {
    let emu = sample().await;
    emu.set_latency("InviteMembers", Duration::from_millis(3000));
    let ids = members(&emu, 120, 700_000_000_000);
    let inviter = inviter(
        &emu,
        Settings {
            organizations_check: OrganizationsCheck::Off,
            max_calls_in_flight: 1,
            ..Settings::default()
        },
    )
    .await;
    let remaining = Duration::from_millis(1500);
    let response = invoke_within(&inviter, &json!(ids), remaining).await;
    let results: Vec<&str> = response
        .unprocessed_accounts
        .iter()
        .map(|u| u.result.as_str())
        .collect();
    assert_eq!(results.len(), 120);
    assert!(
        results.iter().all(|r| r.contains("retrying is safe")),
        "{results:?}"
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| r.starts_with("outcome unknown"))
            .count(),
        50
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| r.starts_with("not attempted"))
            .count(),
        70
    );
}
