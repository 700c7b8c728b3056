//! Drives the emulator with the real AWS SDK clients: GuardDuty basics,
//! concurrency and connections (Organizations: `organizations.rs`; faults:
//! `faults.rs`).

use std::time::{Duration, Instant};

use aws_sdk_guardduty::error::ProvideErrorMetadata;
use emulator::Emulator;

mod common;
use common::{DET, clients, create, detail, fast_clients, get_members, ids, invite, sample};

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
