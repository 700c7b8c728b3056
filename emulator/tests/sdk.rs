//! Drives the emulator with the real AWS SDK clients.

use std::time::{Duration, Instant};

use aws_sdk_guardduty::error::ProvideErrorMetadata;
use aws_sdk_guardduty::error::SdkError;
use emulator::{Emulator, Fault};

mod common;
use common::{
    DET, Retry, clients_with, create, describe, detail, get_members, ids, invite, sample,
};

/// Clients with the SDK's default (standard) retry configuration.
async fn clients(emu: &Emulator) -> (aws_sdk_guardduty::Client, aws_sdk_organizations::Client) {
    clients_with(emu, Retry::Default).await
}

/// Standard retry (3 attempts) with a short backoff, to keep fault tests fast.
async fn fast_clients(
    emu: &Emulator,
) -> (aws_sdk_guardduty::Client, aws_sdk_organizations::Client) {
    clients_with(emu, Retry::Fast).await
}

#[tokio::test]
async fn list_detectors_paginates() {
    let emu = Emulator::start().await.unwrap();
    let (gd, _) = clients(&emu).await;
    let empty = gd.list_detectors().send().await.unwrap();
    assert!(empty.detector_ids().is_empty());
    assert!(empty.next_token().is_none());

    for i in 0..5 {
        emu.add_detector(&format!("det{i}"));
    }
    let page = gd.list_detectors().max_results(2).send().await.unwrap();
    assert_eq!(page.detector_ids(), ["det0", "det1"]);
    assert!(page.next_token().is_some());

    let all: Vec<String> = gd
        .list_detectors()
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, ["det0", "det1", "det2", "det3", "det4"]);
    assert_eq!(emu.count("ListDetectors"), 2 + 3);

    let err = gd
        .list_detectors()
        .max_results(51)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_bad_request_exception());
    emu.stop().await;
}

#[tokio::test]
async fn members_lifecycle() {
    let emu = sample().await;
    let (gd, _) = clients(&emu).await;

    // GetMembers: the seeded Removed member and a non-member.
    let out = get_members(&gd, DET, &["111111111111", "222222222222"])
        .await
        .unwrap();
    assert_eq!(out.members().len(), 1);
    let m = &out.members()[0];
    assert_eq!(m.account_id(), Some("111111111111"));
    assert_eq!(m.email(), Some("111@example.com"));
    assert_eq!(m.relationship_status(), Some("Removed"));
    assert_eq!(m.administrator_id(), Some("999999999999"));
    assert_eq!(m.master_id(), Some("999999999999"));
    assert!(m.updated_at().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(out.unprocessed_accounts().len(), 1);
    assert_eq!(
        out.unprocessed_accounts()[0].account_id(),
        Some("222222222222")
    );
    assert_eq!(
        out.unprocessed_accounts()[0].result(),
        Some(emulator::RESULT_NOT_A_MEMBER)
    );

    // CreateMembers: new -> Created; existing (any status) -> unprocessed.
    let out = create(
        &gd,
        DET,
        &[
            ("222222222222", "222@example.com"),
            ("111111111111", "111@example.com"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(out.unprocessed_accounts().len(), 1);
    assert_eq!(
        out.unprocessed_accounts()[0].account_id(),
        Some("111111111111")
    );
    assert_eq!(
        out.unprocessed_accounts()[0].result(),
        Some(emulator::RESULT_ALREADY_A_MEMBER)
    );
    let m = emu.member(DET, "222222222222").unwrap();
    assert_eq!(m.relationship_status, "Created");
    assert_eq!(m.email, "222@example.com");
    assert_eq!(m.invited_at, None);

    // InviteMembers: Created -> Invited, Removed -> Invited, non-member and refusal unprocessed.
    emu.put_member(DET, "555555555555", "555@example.com", "Resigned");
    emu.refuse_invitation("555555555555", "The account has blocked invitations.");
    let out = gd
        .invite_members()
        .detector_id(DET)
        .account_ids("222222222222")
        .account_ids("111111111111")
        .account_ids("333333333333")
        .account_ids("555555555555")
        .disable_email_notification(true)
        .message("welcome")
        .send()
        .await
        .unwrap();
    let mut un: Vec<(String, String)> = out
        .unprocessed_accounts()
        .iter()
        .map(|u| {
            (
                u.account_id().unwrap_or_default().to_string(),
                u.result().unwrap_or_default().to_string(),
            )
        })
        .collect();
    un.sort();
    assert_eq!(
        un,
        [
            (
                "333333333333".to_string(),
                emulator::RESULT_NOT_A_MEMBER.to_string()
            ),
            (
                "555555555555".to_string(),
                "The account has blocked invitations.".to_string()
            ),
        ]
    );
    for id in ["222222222222", "111111111111"] {
        let m = emu.member(DET, id).unwrap();
        assert_eq!(m.relationship_status, "Invited", "{id}");
        assert_eq!(m.invited_message.as_deref(), Some("welcome"));
        assert_eq!(m.disable_email_notification, Some(true));
        assert_eq!(m.invite_count, 1);
        assert!(m.invited_at.is_some());
    }
    assert_eq!(
        emu.member(DET, "555555555555").unwrap().relationship_status,
        "Resigned"
    );

    // And GetMembers sees the new state through the SDK.
    let out = get_members(&gd, DET, &["222222222222"]).await.unwrap();
    assert_eq!(out.members()[0].relationship_status(), Some("Invited"));
    assert!(out.members()[0].invited_at().is_some());

    // Recording names the accounts of each request.
    let calls = emu.calls();
    let invite = calls.iter().find(|c| c.op == "InviteMembers").unwrap();
    assert_eq!(invite.service, "guardduty");
    assert_eq!(invite.accounts.len(), 4);
    assert!(invite.authorized);
    assert_eq!(invite.status, Some(200));
    assert!(invite.end.is_some());
    emu.stop().await;
}

#[tokio::test]
async fn guardduty_limits_and_unknown_detector() {
    let emu = Emulator::start().await.unwrap();
    emu.add_detector("det");
    let (gd, _) = fast_clients(&emu).await;

    let err = get_members(&gd, "det", &ids(51, 100_000_000_000))
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    assert!(err.into_service_error().is_bad_request_exception());

    let err = invite(&gd, "det", &ids(51, 100_000_000_000))
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_bad_request_exception());

    let err = gd
        .create_members()
        .detector_id("det")
        .set_account_details(Some(
            ids(51, 100_000_000_000)
                .iter()
                .map(|i| detail(i, "x@example.com"))
                .collect(),
        ))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_bad_request_exception());

    // 50 is fine.
    get_members(&gd, "det", &ids(50, 100_000_000_000))
        .await
        .unwrap();

    // Account IDs must be exactly 12 characters.
    let err = get_members(&gd, "det", &["12345678901"]).await.unwrap_err();
    assert!(err.into_service_error().is_bad_request_exception());

    // Email 1..=64.
    let err = create(&gd, "det", &[("123456789012", &"e".repeat(65))])
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_bad_request_exception());

    // Unknown detector.
    let err = get_members(&gd, "nope", &["123456789012"])
        .await
        .unwrap_err();
    let se = err.into_service_error();
    assert!(se.is_bad_request_exception());
    assert!(se.message().unwrap().contains("detectorId is not owned"));

    // Validation failures are not retried.
    assert_eq!(emu.count("GetMembers"), 4);
    emu.stop().await;
}

#[tokio::test]
async fn organizations_operations() {
    let emu = sample().await;
    let (_, org) = clients(&emu).await;

    let o = org.describe_organization().send().await.unwrap();
    let o = o.organization().unwrap();
    assert_eq!(o.id(), Some("o-exampleorgid"));
    assert_eq!(o.master_account_id(), Some("999999999999"));
    assert_eq!(o.feature_set().map(|f| f.as_str()), Some("ALL"));
    assert!(o.master_account_email().is_some());
    assert!(
        o.arn()
            .unwrap()
            .starts_with("arn:aws:organizations::999999999999:")
    );

    let a = describe(&org, "444444444444").await.unwrap();
    let a = a.account().unwrap();
    assert_eq!(a.id(), Some("444444444444"));
    #[allow(deprecated)]
    let status = a.status().map(|s| s.as_str().to_string());
    assert_eq!(status.as_deref(), Some("SUSPENDED"));
    assert_eq!(
        a.arn(),
        Some("arn:aws:organizations::999999999999:account/o-exampleorgid/444444444444")
    );
    assert!(a.email().is_some() && a.name().is_some());
    assert!(a.joined_method().is_some());
    assert!(a.joined_timestamp().unwrap().secs() > 1_500_000_000);

    let err = describe(&org, "123456789012").await.unwrap_err();
    assert!(err.into_service_error().is_account_not_found_exception());

    let page = org.list_accounts().send().await.unwrap();
    let listed: Vec<&str> = page.accounts().iter().filter_map(|a| a.id()).collect();
    assert_eq!(listed, ["222222222222", "444444444444", "555555555555"]);
    assert!(page.next_token().is_none());

    let err = org
        .list_accounts()
        .max_results(21)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_input_exception());
    let err = org
        .list_accounts()
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_input_exception());

    assert_eq!(
        emu.calls()
            .iter()
            .filter(|c| c.service == "organizations")
            .count(),
        6
    );
    emu.stop().await;
}

#[tokio::test]
async fn organizations_not_in_use() {
    let emu = Emulator::start().await.unwrap();
    let (_, org) = clients(&emu).await;
    let err = org.describe_organization().send().await.unwrap_err();
    assert!(
        err.into_service_error()
            .is_aws_organizations_not_in_use_exception()
    );
    let err = org.list_accounts().send().await.unwrap_err();
    assert!(
        err.into_service_error()
            .is_aws_organizations_not_in_use_exception()
    );
    emu.sample_organization();
    emu.clear_organization();
    let err = describe(&org, "222222222222").await.unwrap_err();
    assert!(
        err.into_service_error()
            .is_aws_organizations_not_in_use_exception()
    );
    emu.stop().await;
}

async fn list_all(org: &aws_sdk_organizations::Client, page: i32) -> Vec<String> {
    let pages = org
        .list_accounts()
        .max_results(page)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    pages
        .iter()
        .flat_map(|p| p.accounts())
        .map(|a| a.id().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn paginates_2000_accounts_with_empty_pages() {
    let emu = Emulator::start().await.unwrap();
    let ids = emu.large_organization(2000, 7);
    assert_eq!(ids.len(), 2000);
    assert!(ids.iter().all(|i| i.len() == 12));
    // Deterministic.
    let again = Emulator::start().await.unwrap();
    assert_eq!(again.large_organization(2000, 7), ids);
    let (_, org) = clients(&emu).await;

    assert_eq!(list_all(&org, 20).await, ids);
    assert_eq!(emu.count("ListAccounts"), 100);

    // An empty page before every 3rd real page.
    emu.reset_calls();
    emu.set_empty_pages(3);
    assert_eq!(list_all(&org, 20).await, ids);
    assert_eq!(emu.count("ListAccounts"), 100 + 33);

    // Before every page, the first one included.
    emu.reset_calls();
    emu.set_empty_pages(1);
    let first = org.list_accounts().send().await.unwrap();
    assert!(first.accounts().is_empty());
    assert!(first.next_token().is_some());
    emu.reset_calls();
    assert_eq!(list_all(&org, 20).await, ids);
    assert_eq!(emu.count("ListAccounts"), 200);

    // Default page size (no MaxResults) is 20.
    emu.set_empty_pages(0);
    let first = org.list_accounts().send().await.unwrap();
    assert_eq!(first.accounts().len(), 20);
    emu.stop().await;
    again.stop().await;
}

#[tokio::test]
async fn throttle_is_retried_by_standard_retry() {
    let emu = sample().await;
    let (gd, org) = clients(&emu).await;

    emu.inject("GetMembers", Fault::Throttle, 1);
    let out = get_members(&gd, DET, &["111111111111"]).await.unwrap();
    assert_eq!(out.members().len(), 1);
    assert_eq!(emu.count("GetMembers"), 2);
    let calls = emu.calls();
    assert_eq!(calls[0].fault, Some(Fault::Throttle));
    assert_eq!(calls[0].status, Some(429));
    assert_eq!(calls[1].fault, None);

    emu.inject("DescribeAccount", Fault::Throttle, 1);
    describe(&org, "222222222222").await.unwrap();
    assert_eq!(emu.count("DescribeAccount"), 2);
    emu.stop().await;
}

#[tokio::test]
async fn throttle_forever_surfaces_too_many_requests() {
    let emu = sample().await;
    let (gd, org) = fast_clients(&emu).await;

    emu.inject("InviteMembers", Fault::Throttle, usize::MAX);
    let err = invite(&gd, DET, &["111111111111"]).await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(429));
    assert_eq!(err.code(), Some("TooManyRequestsException"));
    assert_eq!(emu.count("InviteMembers"), 3);
    // The operation never ran.
    assert_eq!(
        emu.member(DET, "111111111111").unwrap().relationship_status,
        "Removed"
    );

    emu.inject("ListAccounts", Fault::Throttle, usize::MAX);
    let err = org.list_accounts().send().await.unwrap_err();
    let se = err.into_service_error();
    assert!(se.is_too_many_requests_exception());
    assert_eq!(se.message(), Some(emulator::ORGANIZATIONS_THROTTLE_MESSAGE));
    assert_eq!(emu.count("ListAccounts"), 3);
    emu.stop().await;
}

#[tokio::test]
async fn server_error_and_access_denied() {
    let emu = sample().await;
    let (gd, org) = fast_clients(&emu).await;

    emu.inject("GetMembers", Fault::ServerError, usize::MAX);
    let err = get_members(&gd, DET, &["111111111111"]).await.unwrap_err();
    assert!(
        err.into_service_error()
            .is_internal_server_error_exception()
    );
    assert_eq!(emu.count("GetMembers"), 3, "500s are retried");

    emu.inject("DescribeOrganization", Fault::ServerError, usize::MAX);
    let err = org.describe_organization().send().await.unwrap_err();
    assert!(err.into_service_error().is_service_exception());
    assert_eq!(emu.count("DescribeOrganization"), 3);

    emu.inject("CreateMembers", Fault::AccessDenied, 1);
    let err = create(&gd, DET, &[("222222222222", "a@example.com")])
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(emu.member(DET, "222222222222").is_none());

    emu.inject("DescribeAccount", Fault::AccessDenied, 1);
    let err = describe(&org, "222222222222").await.unwrap_err();
    assert!(err.into_service_error().is_access_denied_exception());
    emu.stop().await;
}

#[tokio::test]
async fn invalid_json_and_reset_surface_as_errors() {
    let emu = sample().await;
    let (gd, org) = fast_clients(&emu).await;

    emu.inject("GetMembers", Fault::InvalidJson, usize::MAX);
    let err = get_members(&gd, DET, &["111111111111"]).await.unwrap_err();
    assert!(
        matches!(err, SdkError::ServiceError(_) | SdkError::ResponseError(_)),
        "{err:?}"
    );

    emu.inject("ListAccounts", Fault::InvalidJson, usize::MAX);
    assert!(org.list_accounts().send().await.is_err());

    emu.inject("InviteMembers", Fault::ResetMidResponse, usize::MAX);
    let err = invite(&gd, DET, &["111111111111"]).await.unwrap_err();
    assert!(
        matches!(
            err,
            SdkError::ResponseError(_) | SdkError::DispatchFailure(_)
        ),
        "{err:?}"
    );
    // The operation ran even though its response was lost.
    assert_eq!(
        emu.member(DET, "111111111111").unwrap().relationship_status,
        "Invited"
    );

    emu.inject("DescribeAccount", Fault::ResetMidResponse, usize::MAX);
    assert!(describe(&org, "222222222222").await.is_err());

    // Once cleared, everything works again on the same clients.
    emu.clear_faults();
    get_members(&gd, DET, &["111111111111"]).await.unwrap();
    org.list_accounts().send().await.unwrap();
    describe(&org, "222222222222").await.unwrap();
    emu.stop().await;
}

#[tokio::test]
async fn reset_once_is_retried() {
    let emu = sample().await;
    let (gd, _) = fast_clients(&emu).await;
    emu.inject("GetMembers", Fault::ResetMidResponse, 1);
    let out = get_members(&gd, DET, &["111111111111"]).await.unwrap();
    assert_eq!(out.members().len(), 1);
    assert_eq!(emu.count("GetMembers"), 2);
    emu.stop().await;
}

#[tokio::test]
async fn hang_never_answers() {
    let emu = sample().await;
    let (gd, org) = fast_clients(&emu).await;

    emu.inject("ListDetectors", Fault::Hang, 1);
    let r = tokio::time::timeout(Duration::from_millis(300), gd.list_detectors().send()).await;
    assert!(r.is_err(), "expected a timeout, got {r:?}");
    assert_eq!(emu.calls()[0].fault, Some(Fault::Hang));
    assert_eq!(emu.calls()[0].status, None);

    emu.inject("DescribeOrganization", Fault::Hang, 1);
    let pending = tokio::spawn({
        let org = org.clone();
        async move { org.describe_organization().send().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(emu.in_flight("organizations"), 1);
    assert!(!pending.is_finished());

    // Other requests are still served meanwhile.
    gd.list_detectors().send().await.unwrap();
    emu.stop().await;
    pending.abort();
}

#[tokio::test]
async fn faults_for_one_account_only() {
    let emu = sample().await;
    emu.put_member(DET, "222222222222", "222@example.com", "Created");
    emu.put_member(DET, "555555555555", "555@example.com", "Created");
    let (gd, org) = fast_clients(&emu).await;

    emu.inject_for_account(
        "InviteMembers",
        "555555555555",
        Fault::ServerError,
        usize::MAX,
    );
    invite(&gd, DET, &["222222222222"]).await.unwrap();
    let err = invite(&gd, DET, &["555555555555"]).await.unwrap_err();
    assert!(
        err.into_service_error()
            .is_internal_server_error_exception()
    );

    emu.inject_for_account("DescribeAccount", "444444444444", Fault::AccessDenied, 1);
    describe(&org, "222222222222").await.unwrap();
    assert!(describe(&org, "444444444444").await.is_err());
    describe(&org, "444444444444").await.unwrap();

    // Queued faults apply in order.
    emu.inject("ListDetectors", Fault::Throttle, 1);
    emu.inject("ListDetectors", Fault::ServerError, 1);
    gd.list_detectors().send().await.unwrap();
    let faults: Vec<Option<Fault>> = emu
        .calls()
        .iter()
        .filter(|c| c.op == "ListDetectors")
        .map(|c| c.fault)
        .collect();
    assert_eq!(
        faults,
        [Some(Fault::Throttle), Some(Fault::ServerError), None]
    );
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_sleep_independently() {
    let emu = sample().await;
    emu.set_latency("GetMembers", Duration::from_millis(300));
    let (gd, org) = clients(&emu).await;

    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let gd = gd.clone();
        set.spawn(async move { get_members(&gd, DET, &["111111111111"]).await.map(|_| ()) });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300));
    assert!(elapsed < Duration::from_millis(8 * 300), "{elapsed:?}");
    assert_eq!(emu.max_in_flight("guardduty"), 8);
    assert_eq!(emu.max_in_flight("organizations"), 0);
    assert_eq!(emu.in_flight("guardduty"), 0);
    for c in emu.calls() {
        assert!(c.end.unwrap() - c.start >= Duration::from_millis(300));
    }

    // Default latency applies to other operations; per-op latency wins.
    emu.reset_calls();
    assert_eq!(emu.max_in_flight("guardduty"), 0);
    emu.set_default_latency(Duration::from_millis(100));
    let t = Instant::now();
    org.describe_organization().send().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(100));
    let t = Instant::now();
    get_members(&gd, DET, &["111111111111"]).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(emu.max_in_flight("organizations"), 1);
    emu.stop().await;
}

#[tokio::test]
async fn connections_are_reused() {
    let emu = sample().await;
    let (gd, org) = clients(&emu).await;
    for _ in 0..10 {
        gd.list_detectors().send().await.unwrap();
        org.describe_organization().send().await.unwrap();
    }
    assert_eq!(emu.calls().len(), 20);
    assert!(
        emu.connections_accepted() <= 2,
        "{} connections",
        emu.connections_accepted()
    );
    emu.stop().await;
}

#[tokio::test]
async fn drop_stops_the_server() {
    let emu = Emulator::start().await.unwrap();
    let endpoint = emu.endpoint();
    let addr = emu.local_addr();
    drop(emu);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "{endpoint} still accepting"
    );
}
