//! InviteMembers as GuardDuty answers it (FIELD-NOTES section 3), through
//! the real SDK client: per status, refusals, the recorded
//! `disableEmailNotification`, and the control-plane member route.

use std::time::Duration;

use emulator::{Emulator, MEMBER_STATUSES};
use serde_json::{Value, json};

mod common;
use common::{
    ALREADY_INVITED, DET, NOT_A_MEMBER, get_members, guardduty, invite, is_iso8601_millis, pair,
    sample, status_ids, unprocessed,
};

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
