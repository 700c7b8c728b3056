//! GuardDuty member APIs as GuardDuty answers them (FIELD-NOTES section 3),
//! through the real SDK client: GetMembers, CreateMembers, DeleteMembers
//! (InviteMembers: `invite_members.rs`).

use std::time::Duration;

use aws_sdk_guardduty::error::ProvideErrorMetadata;
use emulator::{Emulator, Fault, MEMBER_STATUSES};

mod common;
use common::{
    ALREADY_A_MEMBER, ALREADY_INVITED, DET, NOT_A_MEMBER, create, delete, detail, get_members,
    guardduty, invite, is_iso8601_millis, pair, sample, status_ids, unprocessed,
};

#[tokio::test]
async fn result_texts_are_the_field_notes_wording() {
    assert_eq!(emulator::RESULT_NOT_A_MEMBER, NOT_A_MEMBER);
    assert_eq!(emulator::RESULT_ALREADY_A_MEMBER, ALREADY_A_MEMBER);
    assert_eq!(emulator::RESULT_ALREADY_INVITED, ALREADY_INVITED);
}

#[tokio::test]
async fn get_members_reports_every_status_and_unprocessed_non_members() {
    let emu = sample().await;
    let gd = guardduty(&emu).await;

    // The sample's members, an organization account and an unknown account.
    let out = get_members(
        &gd,
        DET,
        &[
            "111111111111",
            "131313131313",
            "141414141414",
            "161616161616",
            "171717171717",
            "222222222222",
            "333333333333",
        ],
    )
    .await
    .unwrap();
    let mut got: Vec<(String, String, String, bool)> = out
        .members()
        .iter()
        .map(|m| {
            assert_eq!(m.detector_id(), Some(DET));
            assert_eq!(m.administrator_id(), Some("999999999999"));
            assert_eq!(m.master_id(), Some("999999999999"));
            assert!(is_iso8601_millis(m.updated_at().unwrap()), "{m:?}");
            if let Some(at) = m.invited_at() {
                assert!(is_iso8601_millis(at), "{m:?}");
            }
            (
                m.account_id().unwrap().to_string(),
                m.email().unwrap().to_string(),
                m.relationship_status().unwrap().to_string(),
                m.invited_at().is_some(),
            )
        })
        .collect();
    got.sort();
    let want = [
        ("111111111111", "111@example.com", "Removed", true),
        ("131313131313", "131@example.com", "Enabled", true),
        ("141414141414", "141@example.com", "Invited", true),
        (
            "161616161616",
            "161@example.com",
            "EmailVerificationFailed",
            false,
        ),
        ("171717171717", "171@example.com", "Disabled", true),
    ]
    .map(|(a, e, s, i)| (a.to_string(), e.to_string(), s.to_string(), i));
    assert_eq!(got, want);
    assert_eq!(
        unprocessed(out.unprocessed_accounts()),
        [
            pair("222222222222", NOT_A_MEMBER),
            pair("333333333333", NOT_A_MEMBER)
        ]
    );

    // Every status put_member accepts comes back as seeded; invitedAt only
    // where an invitation went out.
    for (id, status) in status_ids() {
        emu.put_member("det2", &id, &format!("{id}@example.com"), status);
    }
    let ids: Vec<String> = status_ids().into_iter().map(|(id, _)| id).collect();
    let out = get_members(&gd, "det2", &ids).await.unwrap();
    assert!(out.unprocessed_accounts().is_empty());
    assert_eq!(out.members().len(), MEMBER_STATUSES.len());
    for (id, status) in status_ids() {
        let m = out
            .members()
            .iter()
            .find(|m| m.account_id() == Some(id.as_str()))
            .unwrap();
        assert_eq!(m.relationship_status(), Some(status), "{id}");
        let invited = matches!(
            status,
            "Invited" | "Enabled" | "Disabled" | "Removed" | "Resigned"
        );
        assert_eq!(m.invited_at().is_some(), invited, "{status}");
        assert_eq!(
            emu.member("det2", &id).unwrap().invited_at.is_some(),
            invited
        );
    }
    emu.stop().await;
}

#[tokio::test]
async fn create_members_on_an_existing_member_is_unprocessed() {
    let emu = Emulator::start().await.unwrap();
    emu.add_detector(DET);
    for (id, status) in status_ids() {
        emu.put_member(DET, &id, "old@example.com", status);
    }
    let before = emu.members(DET);
    let gd = guardduty(&emu).await;

    let mut req = gd
        .create_members()
        .detector_id(DET)
        .account_details(detail("200000000000", "new@example.com"));
    for (id, _) in status_ids() {
        req = req.account_details(detail(&id, "other@example.com"));
    }
    let out = req.send().await.unwrap();
    let want: Vec<(String, String)> = status_ids()
        .iter()
        .map(|(id, _)| pair(id, ALREADY_A_MEMBER))
        .collect();
    assert_eq!(unprocessed(out.unprocessed_accounts()), want);

    // Existing members untouched (e-mail included); the new one is Created.
    let after = emu.members(DET);
    assert_eq!(
        after
            .iter()
            .filter(|m| m.account_id != "200000000000")
            .cloned()
            .collect::<Vec<_>>(),
        before
    );
    let m = emu.member(DET, "200000000000").unwrap();
    assert_eq!(m.relationship_status, "Created");
    assert_eq!(m.email, "new@example.com");
    assert_eq!(m.invited_at, None);
    assert_eq!(m.invite_count, 0);
    emu.stop().await;
}

#[tokio::test]
async fn delete_members_then_create_members_again() {
    let emu = sample().await;
    let gd = guardduty(&emu).await;

    // 161616161616 is EmailVerificationFailed: the fix is delete + create.
    let out = delete(&gd, DET, &["161616161616", "131313131313", "333333333333"])
        .await
        .unwrap();
    assert_eq!(
        unprocessed(out.unprocessed_accounts()),
        [pair("333333333333", NOT_A_MEMBER)]
    );
    assert!(emu.member(DET, "161616161616").is_none());
    assert!(emu.member(DET, "131313131313").is_none());
    assert!(emu.member(DET, "111111111111").is_some());
    assert_eq!(emu.count("DeleteMembers"), 1);
    let call = emu
        .calls()
        .into_iter()
        .find(|c| c.op == "DeleteMembers")
        .unwrap();
    assert_eq!(call.service, "guardduty");
    assert_eq!(
        call.accounts,
        ["161616161616", "131313131313", "333333333333"]
    );
    assert_eq!(call.status, Some(200));

    // GetMembers no longer knows it; deleting again is unprocessed.
    let out = get_members(&gd, DET, &["161616161616"]).await.unwrap();
    assert!(out.members().is_empty());
    assert_eq!(
        unprocessed(out.unprocessed_accounts()),
        [pair("161616161616", NOT_A_MEMBER)]
    );
    let out = delete(&gd, DET, &["161616161616"]).await.unwrap();
    assert_eq!(
        unprocessed(out.unprocessed_accounts()),
        [pair("161616161616", NOT_A_MEMBER)]
    );

    // CreateMembers starts afresh, with the new e-mail; then it can be invited.
    let out = create(&gd, DET, &[("161616161616", "fixed@example.com")])
        .await
        .unwrap();
    assert!(out.unprocessed_accounts().is_empty());
    let m = emu.member(DET, "161616161616").unwrap();
    assert_eq!(m.relationship_status, "Created");
    assert_eq!(m.email, "fixed@example.com");
    assert_eq!(m.invited_at, None);
    let out = invite(&gd, DET, &["161616161616"]).await.unwrap();
    assert!(out.unprocessed_accounts().is_empty());
    assert_eq!(
        emu.member(DET, "161616161616").unwrap().relationship_status,
        "Invited"
    );
    emu.stop().await;
}

#[tokio::test]
async fn delete_members_validation_faults_and_latency() {
    let emu = sample().await;
    let gd = guardduty(&emu).await;

    let many: Vec<String> = (0..51u64)
        .map(|i| format!("{:012}", 300_000_000_000 + i))
        .collect();
    let err = delete(&gd, DET, &many).await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    assert!(err.into_service_error().is_bad_request_exception());
    let err = delete(&gd, DET, &Vec::<String>::new()).await.unwrap_err();
    assert!(err.into_service_error().is_bad_request_exception());
    let err = delete(&gd, DET, &["1111"]).await.unwrap_err();
    assert!(err.into_service_error().is_bad_request_exception());
    let err = delete(&gd, "nope", &["111111111111"]).await.unwrap_err();
    let se = err.into_service_error();
    assert!(se.is_bad_request_exception());
    assert!(se.message().unwrap().contains("detectorId is not owned"));
    assert_eq!(emu.count("DeleteMembers"), 4, "validation is not retried");

    // A throttle is retried; the operation runs once.
    emu.inject("DeleteMembers", Fault::Throttle, 1);
    delete(&gd, DET, &["131313131313"]).await.unwrap();
    assert_eq!(emu.count("DeleteMembers"), 6);
    assert!(emu.member(DET, "131313131313").is_none());

    // A per-account AccessDenied replaces the operation: nothing is deleted.
    emu.inject_for_account("DeleteMembers", "141414141414", Fault::AccessDenied, 1);
    let err = delete(&gd, DET, &["141414141414"]).await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(emu.member(DET, "141414141414").is_some());

    // Latency applies to DeleteMembers like to every other operation.
    emu.set_latency("DeleteMembers", Duration::from_millis(150));
    let t = std::time::Instant::now();
    delete(&gd, DET, &["141414141414"]).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert!(emu.member(DET, "141414141414").is_none());
    emu.stop().await;
}
