//! GuardDuty member APIs as GuardDuty answers them (FIELD-NOTES section 3),
//! through the real SDK client: GetMembers, CreateMembers, DeleteMembers,
//! InviteMembers per status, the recorded `disableEmailNotification`, and the
//! control-plane member route.

use std::time::Duration;

use aws_sdk_guardduty::error::ProvideErrorMetadata;
use emulator::{Emulator, Fault, MEMBER_STATUSES};
use serde_json::{Value, json};

mod common;
use common::{
    DET, create, delete, detail, get_members, guardduty, invite, pair, sample, unprocessed,
};

/// The exact wordings of FIELD-NOTES.md section 3.
const NOT_A_MEMBER: &str = "The request is rejected because the given account ID is not an associated member of account the current account.";
const ALREADY_A_MEMBER: &str = "The request is rejected because the given account ID is already a member or associated member of the current account.";
const ALREADY_INVITED: &str = "The request is rejected because the current account has already invited or is already the GuardDuty master of the given member account ID.";

/// One account ID per status: 100000000000, 100000000001, ...
fn status_ids() -> Vec<(String, &'static str)> {
    MEMBER_STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("{:012}", 100_000_000_000u64 + i as u64), *s))
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn is_iso8601_millis(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

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

#[tokio::test]
async fn invite_members_by_status() {
    let emu = Emulator::start().await.unwrap();
    emu.add_detector(DET);
    for (id, status) in status_ids() {
        emu.put_member(DET, &id, &format!("{id}@example.com"), status);
    }
    // A status GuardDuty does not have is not invited either.
    emu.put_member(DET, "100000000099", "x@example.com", "Monitored");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let before = emu.members(DET);
    let gd = guardduty(&emu).await;

    let mut req = gd
        .invite_members()
        .detector_id(DET)
        .message("welcome")
        .account_ids("100000000099")
        .account_ids("333333333333");
    for (id, _) in status_ids() {
        req = req.account_ids(id);
    }
    let out = req.send().await.unwrap();

    let invitable = ["Created", "Removed", "Resigned"];
    let mut want: Vec<(String, String)> = status_ids()
        .into_iter()
        .filter(|(_, s)| !invitable.contains(s))
        .map(|(id, _)| pair(&id, ALREADY_INVITED))
        .collect();
    want.push(pair("100000000099", ALREADY_INVITED));
    want.push(pair("333333333333", NOT_A_MEMBER));
    want.sort();
    assert_eq!(unprocessed(out.unprocessed_accounts()), want);

    for (id, status) in status_ids() {
        let old = before.iter().find(|m| m.account_id == id).unwrap();
        let m = emu.member(DET, &id).unwrap();
        if invitable.contains(&status) {
            assert_eq!(m.relationship_status, "Invited", "{status}");
            assert_eq!(m.invite_count, 1, "{status}");
            assert_eq!(m.invited_message.as_deref(), Some("welcome"));
            assert_eq!(m.email, old.email, "the member keeps its details");
            let at = m.invited_at.clone().unwrap();
            assert!(is_iso8601_millis(&at));
            assert_eq!(m.updated_at, at);
            assert_ne!(m.updated_at, old.updated_at, "{status}");
        } else {
            assert_eq!(&m, old, "{status}: no state change");
        }
    }
    assert!(emu.member(DET, "333333333333").is_none());

    // Invited now: a second InviteMembers is rejected, nothing is re-sent.
    let invited: Vec<String> = status_ids()
        .into_iter()
        .filter(|(_, s)| invitable.contains(s))
        .map(|(id, _)| id)
        .collect();
    let snapshot = emu.members(DET);
    let out = invite(&gd, DET, &invited.clone()).await.unwrap();
    let want: Vec<(String, String)> = invited.iter().map(|id| pair(id, ALREADY_INVITED)).collect();
    assert_eq!(unprocessed(out.unprocessed_accounts()), want);
    assert_eq!(emu.members(DET), snapshot);
    emu.stop().await;
}

#[tokio::test]
async fn refuse_invitation_still_wins() {
    let emu = sample().await;
    emu.put_member(DET, "200000000001", "a@example.com", "Created");
    emu.refuse_invitation("200000000001", "The account has blocked invitations.");
    emu.refuse_invitation("200000000002", "never used: not a member");
    let gd = guardduty(&emu).await;
    let out = invite(&gd, DET, &["200000000001", "200000000002", "111111111111"])
        .await
        .unwrap();
    assert_eq!(
        unprocessed(out.unprocessed_accounts()),
        [
            pair("200000000001", "The account has blocked invitations."),
            pair("200000000002", NOT_A_MEMBER),
        ]
    );
    assert_eq!(
        emu.member(DET, "200000000001").unwrap().relationship_status,
        "Created"
    );
    assert_eq!(
        emu.member(DET, "111111111111").unwrap().relationship_status,
        "Invited"
    );
    emu.stop().await;
}

/// Sends one plain HTTP request to `emu`; returns status and body.
async fn http(emu: &Emulator, method: &str, path: &str, body: &str) -> (u16, String) {
    let (status, _, body) =
        common::request(&emu.local_addr().to_string(), method, path, &[], body).await;
    (status, body)
}

#[tokio::test]
async fn disable_email_notification_is_recorded() {
    let emu = Emulator::start().await.unwrap();
    emu.add_detector(DET);
    for id in ["200000000001", "200000000002", "200000000003"] {
        emu.put_member(DET, id, "a@example.com", "Created");
    }
    let gd = guardduty(&emu).await;
    gd.invite_members()
        .detector_id(DET)
        .account_ids("200000000001")
        .disable_email_notification(true)
        .send()
        .await
        .unwrap();
    gd.invite_members()
        .detector_id(DET)
        .account_ids("200000000002")
        .disable_email_notification(false)
        .send()
        .await
        .unwrap();
    invite(&gd, DET, &["200000000003"]).await.unwrap();
    get_members(&gd, DET, &["200000000003"]).await.unwrap();

    let calls = emu.calls();
    let flags: Vec<(&str, Option<bool>)> = calls
        .iter()
        .map(|c| (c.op.as_str(), c.disable_email_notification))
        .collect();
    assert_eq!(
        flags,
        [
            ("InviteMembers", Some(true)),
            ("InviteMembers", Some(false)),
            ("InviteMembers", None),
            ("GetMembers", None),
        ]
    );
    // The member remembers the last invitation's flag too.
    assert_eq!(
        emu.member(DET, "200000000001")
            .unwrap()
            .disable_email_notification,
        Some(true)
    );

    let (status, body) = http(&emu, "GET", "/_emulator/calls", "").await;
    assert_eq!(status, 200);
    let calls: Value = serde_json::from_str(&body).unwrap();
    let flags: Vec<Value> = calls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["disableEmailNotification"].clone())
        .collect();
    assert_eq!(flags, [json!(true), json!(false), Value::Null, Value::Null]);
    emu.stop().await;
}

#[tokio::test]
async fn control_plane_puts_a_member_with_any_status() {
    let emu = Emulator::start().await.unwrap();
    let gd = guardduty(&emu).await;

    for (id, status) in status_ids() {
        let body = json!({"detectorId": "det7", "accountId": id, "email": "m@example.com", "status": status});
        let (code, resp) = http(&emu, "POST", "/_emulator/member", &body.to_string()).await;
        assert_eq!(code, 200, "{resp}");
        let v: Value = serde_json::from_str(&resp).unwrap();
        assert_eq!(v["accountId"], id.as_str());
        assert_eq!(v["relationshipStatus"], status);
        assert_eq!(v["email"], "m@example.com");
        assert_eq!(v["detectorId"], "det7");
    }
    let ids: Vec<String> = status_ids().into_iter().map(|(id, _)| id).collect();
    let out = get_members(&gd, "det7", &ids).await.unwrap();
    assert_eq!(out.members().len(), MEMBER_STATUSES.len());
    for (id, status) in status_ids() {
        let m = emu.member("det7", &id).unwrap();
        assert_eq!(m.relationship_status, status);
        assert_eq!(
            m.invited_at.is_some(),
            matches!(
                status,
                "Invited" | "Enabled" | "Disabled" | "Removed" | "Resigned"
            ),
            "{status}"
        );
    }
    // The detector it created is listed.
    let listed = gd.list_detectors().send().await.unwrap();
    assert_eq!(listed.detector_ids(), ["det7"]);

    // Overwrites; e-mail defaults to aws+<id>@example.com.
    let body = json!({"detectorId": "det7", "accountId": "100000000001", "status": "Created"});
    let (code, resp) = http(&emu, "POST", "/_emulator/member", &body.to_string()).await;
    assert_eq!(code, 200, "{resp}");
    let m = emu.member("det7", "100000000001").unwrap();
    assert_eq!(m.relationship_status, "Created");
    assert_eq!(m.email, "aws+100000000001@example.com");
    assert_eq!(m.invited_at, None);
    let (code, resp) = http(&emu, "GET", "/_emulator/member/det7/100000000001", "").await;
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&resp).unwrap()["relationshipStatus"],
        "Created"
    );

    // Missing or mistyped fields.
    for bad in [
        json!({"accountId": "100000000001", "status": "Created"}),
        json!({"detectorId": "det7", "status": "Created"}),
        json!({"detectorId": "det7", "accountId": "100000000001"}),
        json!({"detectorId": "det7", "accountId": "100000000001", "status": 3}),
        json!({"detectorId": "det7", "accountId": "100000000001", "status": "Created", "email": 1}),
    ] {
        let (code, resp) = http(&emu, "POST", "/_emulator/member", &bad.to_string()).await;
        assert_eq!(code, 400, "{bad} -> {resp}");
    }
    let (code, _) = http(&emu, "POST", "/_emulator/member", "not json").await;
    assert_eq!(code, 400);
    // Control-plane requests are not recorded.
    assert_eq!(emu.count("Unknown"), 0);
    assert!(emu.calls().iter().all(|c| c.service == "guardduty"));
    emu.stop().await;
}
