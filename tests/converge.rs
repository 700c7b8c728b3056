//! The member-record table (SPEC v2) through the real SDK clients against
//! the emulator: every status, every code with its `retryable`, dry runs,
//! and a scheduled re-run that changes nothing.

mod support;

use std::collections::HashMap;

use emulator::{Emulator, Fault};
use guardduty_inviter::config::Settings;
use guardduty_inviter::response::{FailCode, Response, SkipCode};
use serde_json::{Value, json};
use support::*;

/// An account in each member status, and the event that names them all.
fn world(emu: &Emulator) -> Value {
    for (id, status) in [
        ("810000000001", "Created"),
        ("810000000002", "Removed"),
        ("810000000003", "Resigned"),
        ("810000000004", "Invited"),
        ("810000000005", "Enabled"),
        ("810000000006", "Disabled"),
        ("810000000007", "EmailVerificationInProgress"),
        ("810000000008", "EmailVerificationFailed"),
        ("810000000009", "EmailVerificationFailed"),
        ("810000000010", "EmailVerificationFailed"),
        ("810000000011", "Paused"),
    ] {
        emu.put_member(DETECTOR, id, &format!("old-{id}@example.com"), status);
    }
    json!({
        "accountIds": [
            "810000000001", "810000000002", "810000000003", "810000000004",
            "810000000005", "810000000006", "810000000007", "810000000008",
            "810000000011", "810000000012"
        ],
        "accounts": [
            {"accountId": "810000000009", "email": "new@example.com"},
            {"accountId": "810000000010", "email": "OLD-810000000010@example.com"},
            {"accountId": "810000000013", "email": "fresh@example.com"}
        ]
    })
}

/// The accounts of [`world`] a run invites: Created, Removed, Resigned, the
/// failed verification given a new e-mail, and the new account.
const INVITABLE: [&str; 5] = [
    "810000000001",
    "810000000002",
    "810000000003",
    "810000000009",
    "810000000013",
];

fn skip_codes(response: &Response) -> HashMap<&str, SkipCode> {
    response
        .skipped_accounts
        .iter()
        .map(|s| (s.account_id.as_str(), s.code))
        .collect()
}

fn fail_codes(response: &Response) -> HashMap<&str, (FailCode, bool)> {
    response
        .unprocessed_accounts
        .iter()
        .map(|u| (u.account_id.as_str(), (u.code, u.retryable)))
        .collect()
}

fn named_in(emu: &Emulator, op: &str) -> Vec<String> {
    let mut ids: Vec<String> = emu
        .calls()
        .into_iter()
        .filter(|c| c.op == op)
        .flat_map(|c| c.accounts)
        .collect();
    ids.sort();
    ids
}

fn the_rows_hold(response: &Response, invited: &[&str]) {
    let skipped = skip_codes(response);
    assert_eq!(skipped["810000000004"], SkipCode::InvitationPending);
    assert_eq!(skipped["810000000005"], SkipCode::AlreadyEnabled);
    assert_eq!(skipped["810000000006"], SkipCode::MonitoringStopped);
    assert_eq!(skipped["810000000007"], SkipCode::VerificationInProgress);
    let failed = fail_codes(response);
    let no_retry = |code| (code, false);
    assert_eq!(
        failed["810000000008"],
        no_retry(FailCode::EmailVerificationFailed)
    );
    assert_eq!(
        failed["810000000010"],
        no_retry(FailCode::EmailVerificationFailed)
    );
    assert_eq!(
        failed["810000000011"],
        no_retry(FailCode::UnsupportedStatus)
    );
    assert_eq!(failed["810000000012"], no_retry(FailCode::EmailRequired));
    assert_eq!(skipped.len() + failed.len() + invited.len(), 13);
}

#[tokio::test]
async fn every_member_status_gets_its_row() {
    let emu = sample().await;
    let event = world(&emu);
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(&inviter, event).await.unwrap();
    let invited = INVITABLE;
    assert_eq!(response.invited_accounts, invited);
    the_rows_hold(&response, &invited);
    // Writes only where they move an account forward.
    assert_eq!(named_in(&emu, "DeleteMembers"), ["810000000009"]);
    assert_eq!(
        named_in(&emu, "CreateMembers"),
        ["810000000009", "810000000013"]
    );
    assert_eq!(named_in(&emu, "InviteMembers"), invited);
    assert_eq!(emu.count("GetMembers"), 1, "13 accounts, one read");
    let recreated = emu.member(DETECTOR, "810000000009").unwrap();
    assert_eq!(recreated.email, "new@example.com");
    assert_eq!(recreated.relationship_status, "Invited");
    let pending = &response.skipped_accounts[0];
    assert!(pending.reason.contains("invited at"), "{pending:?}");
}

#[tokio::test]
async fn a_dry_run_reads_and_reports_what_a_real_run_would_do() {
    let emu = sample().await;
    let mut event = world(&emu);
    event["dryRun"] = json!(true);
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(&inviter, event).await.unwrap();
    let would = INVITABLE;
    assert_eq!(response.would_invite_accounts.as_deref().unwrap(), would);
    assert!(response.invited_accounts.is_empty());
    the_rows_hold(&response, &would);
    assert_eq!(emu.count("GetMembers"), 1);
    for op in ["DeleteMembers", "CreateMembers", "InviteMembers"] {
        assert_eq!(emu.count(op), 0, "{op} in a dry run");
    }
}

#[tokio::test]
async fn the_same_event_again_changes_nothing_and_says_pending() {
    let emu = sample().await;
    let event = world(&emu);
    let inviter = inviter(&emu, Settings::default()).await;
    let first = invoke(&inviter, event.clone()).await.unwrap();
    emu.reset_calls();
    let second = invoke(&inviter, event).await.unwrap();
    for op in ["DeleteMembers", "CreateMembers", "InviteMembers"] {
        assert_eq!(emu.count(op), 0, "{op} on the second run");
    }
    assert!(second.invited_accounts.is_empty());
    let skipped = skip_codes(&second);
    for id in &first.invited_accounts {
        assert_eq!(skipped[id.as_str()], SkipCode::InvitationPending, "{id}");
    }
    // What was unprocessed stays so, for the same reasons: nothing new fails.
    assert_eq!(fail_codes(&second), fail_codes(&first));
}

#[tokio::test]
async fn organization_members_are_never_read_into_a_write() {
    let emu = sample().await;
    // 222222222222 is in the organization; a GuardDuty record says Created.
    emu.put_member(DETECTOR, "222222222222", "a@example.com", "Created");
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(&inviter, json!(["222222222222", "111111111111"]))
        .await
        .unwrap();
    assert_eq!(response.invited_accounts, ["111111111111"]);
    assert_eq!(
        skip_codes(&response)["222222222222"],
        SkipCode::OrganizationMember
    );
    assert_eq!(named_in(&emu, "InviteMembers"), ["111111111111"]);
}

#[tokio::test]
async fn failed_calls_say_whether_retrying_can_help() {
    for (op, fault, retryable) in [
        ("GetMembers", Fault::Throttle, true),
        ("InviteMembers", Fault::AccessDenied, false),
        ("InviteMembers", Fault::ServerError, true),
    ] {
        let emu = sample().await;
        emu.inject(op, fault, 10);
        let function = inviter(&emu, without_organizations_check()).await;
        let response = invoke(&function, json!(["111111111111"])).await.unwrap();
        let entry = &response.unprocessed_accounts[0];
        assert_eq!(
            (entry.code, entry.retryable),
            (FailCode::CallFailed, retryable),
            "{entry:?}"
        );
        assert!(
            entry.result.starts_with(&format!("{op} failed")),
            "{entry:?}"
        );
    }
}

#[tokio::test]
async fn guardduty_refusals_are_rejected_with_its_own_result() {
    let emu = sample().await;
    emu.refuse_invitation(
        "111111111111",
        "The request is rejected because the account has opted out.",
    );
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(&inviter, json!(["111111111111"])).await.unwrap();
    let entry = &response.unprocessed_accounts[0];
    assert_eq!((entry.code, entry.retryable), (FailCode::Rejected, false));
    assert_eq!(
        entry.result,
        "The request is rejected because the account has opted out."
    );
}

#[tokio::test]
async fn the_response_carries_codes_on_the_wire() {
    let emu = sample().await;
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(&inviter, json!(["222222222222", "12345"]))
        .await
        .unwrap();
    let wire = serde_json::to_value(&response).unwrap();
    assert_eq!(
        wire["skippedAccounts"][0],
        json!({"accountId": "222222222222", "code": "ORGANIZATION_MEMBER",
               "reason": "managed by AWS Organizations (o-exampleorgid)"})
    );
    assert_eq!(wire["unprocessedAccounts"][0]["code"], "INVALID_ACCOUNT_ID");
    assert_eq!(wire["unprocessedAccounts"][0]["retryable"], false);
    assert_eq!(wire["detectorId"], Value::Null);
}
