//! The member-side accept through the real SDK clients against the
//! emulator: STS `AssumeRole` on its own wire protocol (through
//! `aws_config`'s `AssumeRoleProvider`), then GuardDuty acting as the member.

mod support;

use std::time::Duration;

use emulator::{
    Emulator, Fault, SAMPLE_DETECTOR_ID, SAMPLE_MEMBER_ACCOUNT_ID, SAMPLE_MEMBER_ROLE_NAME,
};
use guardduty_inviter::aws::AwsClients;
use guardduty_inviter::config::{MemberRoleSettings, Settings};
use guardduty_inviter::handler::Inviter;
use guardduty_inviter::response::{FailCode, Response, SkipCode};
use guardduty_inviter::testing::assert_exactly_once;
use serde_json::json;
use support::*;

const MEMBER: &str = SAMPLE_MEMBER_ACCOUNT_ID;

fn with_role(external_id: Option<&str>, create_detectors: bool) -> Settings {
    Settings {
        member_role: Some(MemberRoleSettings {
            name: SAMPLE_MEMBER_ROLE_NAME.into(),
            external_id: external_id.map(str::to_owned),
            create_detectors,
        }),
        ..Settings::default()
    }
}

async fn accepting(emu: &Emulator, settings: Settings) -> Inviter<AwsClients> {
    inviter(emu, settings).await
}

fn new_member() -> serde_json::Value {
    json!({"accounts": [{"accountId": MEMBER, "email": "security@member.example.com"}]})
}

fn ops_as(emu: &Emulator, account: &str) -> Vec<String> {
    emu.calls()
        .into_iter()
        .filter(|c| c.account == account)
        .map(|c| c.op)
        .collect()
}

fn unprocessed(response: &Response, code: FailCode) -> &str {
    let u = response
        .unprocessed_accounts
        .iter()
        .find(|u| u.code == code)
        .unwrap_or_else(|| panic!("no {code:?}: {response:?}"));
    assert!(u.retryable || code == FailCode::MemberDetectorMissing);
    &u.result
}

#[tokio::test]
async fn a_new_member_is_created_invited_and_accepts_as_itself() {
    let emu = sample().await;
    let inviter = accepting(&emu, with_role(None, false)).await;
    let response = invoke(&inviter, new_member()).await.unwrap();
    assert_eq!(
        response.enabled_accounts.as_deref(),
        Some(&[MEMBER.to_string()][..])
    );
    assert!(response.invited_accounts.is_empty());
    let record = emu.member(SAMPLE_DETECTOR_ID, MEMBER).unwrap();
    assert_eq!(record.relationship_status, "Enabled");
    assert_eq!(
        emu.administrator_of(MEMBER, "us-east-1").as_deref(),
        Some(ADMIN)
    );
    assert_eq!(
        ops_as(&emu, MEMBER),
        [
            "ListDetectors",
            "ListInvitations",
            "AcceptAdministratorInvitation"
        ],
        "the member side acts as the member"
    );
    let admin_ops: Vec<String> = ops_as(&emu, ADMIN);
    let position = |op: &str| admin_ops.iter().position(|o| o == op).unwrap();
    assert!(position("AssumeRole") < position("CreateMembers"));
    assert_eq!(emu.count("AssumeRole"), 1);
}

#[tokio::test]
async fn an_invited_member_only_accepts_and_a_second_run_is_quiet() {
    let emu = sample().await;
    let inviter = accepting(&emu, Settings::default()).await;
    invoke(&inviter, new_member()).await.unwrap();
    assert_eq!(
        emu.member(SAMPLE_DETECTOR_ID, MEMBER)
            .unwrap()
            .relationship_status,
        "Invited"
    );

    let inviter = accepting(&emu, with_role(None, false)).await;
    emu.reset_calls();
    let response = invoke(&inviter, new_member()).await.unwrap();
    assert_eq!(response.enabled_accounts.unwrap(), [MEMBER]);
    assert_eq!(
        emu.count("InviteMembers"),
        0,
        "an Invited member is only accepted"
    );
    assert_eq!(emu.count("CreateMembers"), 0);

    emu.reset_calls();
    let response = invoke(&inviter, new_member()).await.unwrap();
    assert_eq!(response.skipped_accounts[0].code, SkipCode::AlreadyEnabled);
    assert_eq!(
        emu.count("AssumeRole"),
        0,
        "nothing to accept: no role assumed"
    );
}

#[tokio::test]
async fn without_a_role_the_account_is_invited_and_ends_accept_failed() {
    let emu = sample().await;
    let settings = Settings {
        member_role: Some(MemberRoleSettings {
            name: "NoSuchRole".into(),
            external_id: None,
            create_detectors: false,
        }),
        ..Settings::default()
    };
    let inviter = accepting(&emu, settings).await;
    let response = invoke(&inviter, new_member()).await.unwrap();
    assert_exactly_once(&[MEMBER], &response);
    let result = unprocessed(&response, FailCode::AcceptFailed);
    assert!(result.starts_with("invited, but not accepted"), "{result}");
    assert!(result.contains("AccessDenied"), "{result}");
    assert!(result.contains("sts:AssumeRole"), "{result}");
    assert_eq!(
        emu.member(SAMPLE_DETECTOR_ID, MEMBER)
            .unwrap()
            .relationship_status,
        "Invited"
    );
    assert!(ops_as(&emu, MEMBER).is_empty());
}

#[tokio::test]
async fn a_wrong_external_id_is_refused_like_a_missing_role() {
    let emu = sample().await;
    emu.add_member_role("181818181818", "GuardDutyInviterMember", Some("right-id"));
    emu.add_member_detector("181818181818", "us-east-1", "d181818");
    let event = json!({"accounts": [{"accountId": "181818181818", "email": "a@b.example"}]});
    let inviter = accepting(&emu, with_role(Some("wrong-id"), false)).await;
    let response = invoke(&inviter, event.clone()).await.unwrap();
    assert!(unprocessed(&response, FailCode::AcceptFailed).contains("AccessDenied"));

    let inviter = accepting(&emu, with_role(Some("right-id"), false)).await;
    let response = invoke(&inviter, event).await.unwrap();
    assert_eq!(response.enabled_accounts.unwrap(), ["181818181818"]);
}

#[tokio::test]
async fn a_member_without_a_detector_is_not_invited_unless_one_may_be_created() {
    let emu = sample().await;
    emu.add_member_role("181818181818", "GuardDutyInviterMember", None);
    let event = json!({"accounts": [{"accountId": "181818181818", "email": "a@b.example"}]});
    let inviter = accepting(&emu, with_role(None, false)).await;
    let response = invoke(&inviter, event.clone()).await.unwrap();
    let result = unprocessed(&response, FailCode::MemberDetectorMissing);
    assert!(result.contains("ENABLE_MEMBER_DETECTORS"), "{result}");
    assert!(!response.unprocessed_accounts[0].retryable);
    assert_eq!(emu.count("InviteMembers"), 0);
    assert_eq!(emu.count("CreateMembers"), 0);

    let inviter = accepting(&emu, with_role(None, true)).await;
    let response = invoke(&inviter, event).await.unwrap();
    assert_eq!(response.enabled_accounts.unwrap(), ["181818181818"]);
    assert_eq!(emu.detectors_of("181818181818", "us-east-1").len(), 1);
}

#[tokio::test]
async fn another_administrators_invitation_is_never_accepted() {
    let emu = sample().await;
    emu.add_invitation(
        MEMBER,
        "us-east-1",
        "888888888888",
        "0123456789abcdef0123456789abcdef",
    );
    let inviter = accepting(&emu, with_role(None, false)).await;
    let response = invoke(&inviter, new_member()).await.unwrap();
    assert_eq!(response.enabled_accounts.unwrap(), [MEMBER]);
    assert_eq!(
        emu.administrator_of(MEMBER, "us-east-1").as_deref(),
        Some(ADMIN)
    );
    let left = emu.invitations(MEMBER, "us-east-1");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].account_id, "888888888888");
}

#[tokio::test]
async fn a_throttled_assume_role_is_retried_by_the_sdk() {
    let emu = sample().await;
    emu.inject("AssumeRole", Fault::Throttle, 1);
    let inviter = accepting(&emu, with_role(None, false)).await;
    let response = invoke(&inviter, new_member()).await.unwrap();
    assert_eq!(response.enabled_accounts.unwrap(), [MEMBER]);
    assert_eq!(emu.count("AssumeRole"), 2);
}

#[tokio::test]
async fn a_failing_accept_is_retryable_and_a_rerun_only_accepts() {
    let emu = sample().await;
    emu.inject("AcceptAdministratorInvitation", Fault::AccessDenied, 1);
    let inviter = accepting(&emu, with_role(None, false)).await;
    let response = invoke(&inviter, new_member()).await.unwrap();
    let result = unprocessed(&response, FailCode::AcceptFailed);
    assert!(
        result.contains("AcceptAdministratorInvitation failed"),
        "{result}"
    );

    emu.reset_calls();
    let response = invoke(&inviter, new_member()).await.unwrap();
    assert_eq!(response.enabled_accounts.unwrap(), [MEMBER]);
    assert_eq!(emu.count("InviteMembers"), 0);
}

#[tokio::test]
async fn the_deadline_in_the_middle_of_accepts_loses_nothing_and_a_rerun_finishes() {
    let emu = sample().await;
    emu.set_latency("AcceptAdministratorInvitation", Duration::from_millis(3000));
    let inviter = accepting(&emu, with_role(None, false)).await;
    let response = invoke_within(&inviter, &new_member(), Duration::from_millis(1500)).await;
    assert_exactly_once(&[MEMBER], &response);
    let u = &response.unprocessed_accounts[0];
    assert!(
        matches!(u.code, FailCode::OutcomeUnknown | FailCode::AcceptFailed) && u.retryable,
        "{u:?}"
    );
    emu.set_latency("AcceptAdministratorInvitation", Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let response = invoke(&inviter, new_member()).await.unwrap();
    assert_exactly_once(&[MEMBER], &response);
    assert_eq!(
        emu.member(SAMPLE_DETECTOR_ID, MEMBER)
            .unwrap()
            .relationship_status,
        "Enabled"
    );
}

#[tokio::test]
async fn a_dry_run_makes_no_member_side_call() {
    let emu = sample().await;
    let inviter = accepting(&emu, with_role(None, true)).await;
    let mut event = new_member();
    event["accountIds"] = json!(["141414141414"]);
    event["dryRun"] = json!(true);
    let response = invoke(&inviter, event).await.unwrap();
    assert_eq!(response.would_invite_accounts.unwrap(), [MEMBER]);
    assert_eq!(response.enabled_accounts.unwrap(), Vec::<String>::new());
    assert_eq!(
        response.skipped_accounts[0].code,
        SkipCode::InvitationPending
    );
    for call in emu.calls() {
        assert!(call.service != "sts" && call.account == ADMIN, "{call:?}");
    }
}

#[tokio::test]
async fn one_role_serves_every_region_each_accepting_its_own_invitation() {
    let emu = sample().await;
    emu.add_member_detector(MEMBER, "eu-west-1", "memberdetectoreuwest1");
    let inviter = accepting(&emu, with_role(None, false)).await;
    let mut event = new_member();
    event["regions"] = json!(["us-east-1", "eu-west-1", "us-west-2"]);
    let answer = inviter
        .invite(
            &event.to_string(),
            Some(ADMIN),
            Some(Duration::from_secs(30)),
        )
        .await
        .unwrap()
        .multi()
        .unwrap();
    assert_eq!(emu.count("AssumeRole"), 1);
    let enabled: Vec<bool> = answer
        .regions
        .iter()
        .map(|r| r.response.enabled_accounts.as_deref() == Some(&[MEMBER.to_string()][..]))
        .collect();
    assert_eq!(enabled, [true, true, false]);
    let west2 = &answer.regions[2].response.unprocessed_accounts[0];
    assert_eq!(west2.code, FailCode::MemberDetectorMissing);
    assert!(west2.result.contains("us-west-2"));
}

#[tokio::test]
async fn the_administrator_comes_from_sts_when_the_arn_names_none() {
    let emu = sample().await;
    let inviter = accepting(&emu, with_role(None, false)).await;
    let response = inviter
        .invite(
            &new_member().to_string(),
            None,
            Some(Duration::from_secs(30)),
        )
        .await
        .map(single)
        .unwrap();
    assert_eq!(response.enabled_accounts.unwrap(), [MEMBER]);
    assert_eq!(emu.count("GetCallerIdentity"), 1);
    invoke(&inviter, json!({"accountId": "131313131313"}))
        .await
        .unwrap();
    inviter
        .invite(&new_member().to_string(), None, None)
        .await
        .unwrap();
    assert_eq!(emu.count("GetCallerIdentity"), 1, "once per process");
}

#[tokio::test]
async fn without_arn_or_sts_the_administrator_comes_from_a_member_record() {
    let emu = sample().await;
    emu.inject("GetCallerIdentity", Fault::AccessDenied, 1);
    emu.add_member_role("141414141414", SAMPLE_MEMBER_ROLE_NAME, None);
    emu.add_member_detector("141414141414", "us-east-1", "d141414");
    let inviter = accepting(&emu, with_role(None, false)).await;
    let event = json!({"accountIds": ["141414141414"]});
    let response = inviter
        .invite(&event.to_string(), None, Some(Duration::from_secs(30)))
        .await
        .map(single)
        .unwrap();
    assert_eq!(response.enabled_accounts.unwrap(), ["141414141414"]);
    assert_eq!(
        emu.administrator_of("141414141414", "us-east-1").as_deref(),
        Some(ADMIN)
    );
}
