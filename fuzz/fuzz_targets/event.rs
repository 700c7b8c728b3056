//! Fuzz target over the raw event bytes: the real handler path
//! (`Inviter::invite`) over a deterministic in-memory AWS that answers at once.
//!
//! For every input: no panic, no hang (libFuzzer's `-timeout`), and either
//! - `Ok(answer)`: in each Region's response, every distinct account the
//!   event names appears exactly once across invitedAccounts /
//!   wouldInviteAccounts / enabledAccounts / skippedAccounts /
//!   unprocessedAccounts, no organization member is invited, a dry run calls
//!   neither CreateMembers nor InviteMembers, and the answer serializes; or
//! - `Err(e)`: `e.error_type()` is one of the stable names, and it is
//!   `InvalidEvent` exactly when the event does not parse.
//!
//! Each input runs twice on the same `Inviter`: cold, then warm (the
//! Organizations cache and the discovered detector in use). Events may name
//! Regions (`eu-west-2` has no detector, `ap-east-1` refuses the account,
//! `"all"` lists three); an event whose text holds `role` runs with a member
//! role (accounts whose ID starts with 5 have none to assume, with 3 no
//! detector of their own).

#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use guardduty_inviter::config::{MemberRoleSettings, Settings};
use guardduty_inviter::event;
use guardduty_inviter::handler::Inviter;
use guardduty_inviter::plan::{Call, OrgError};
use guardduty_inviter::response::Response;
use guardduty_inviter::testing::{
    ADMIN, FakeAws, PerAccount, World, account_ids, assert_exactly_once, is_account_id,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use serde_json::value::RawValue;

/// Small enough for libFuzzer's inputs to reach it, above one GuardDuty batch.
const MAX_ACCOUNTS: usize = 200;
/// Slots per service, as `MAX_CALLS_IN_FLIGHT` would set them.
const SLOTS: usize = 3;

/// The organization: three `ListAccounts` pages.
fn organization() -> &'static [String] {
    static ORG: OnceLock<Vec<String>> = OnceLock::new();
    ORG.get_or_init(|| {
        let mut members: Vec<String> = ["222222222222", "444444444444", "666666666666"]
            .into_iter()
            .map(String::from)
            .collect();
        members.extend(account_ids(200_000_000_000, 42));
        members
    })
}

fn is_member(id: &str) -> bool {
    organization().iter().any(|m| m == id)
}

/// Deterministic AWS, answering at once; it checks every batch it gets (see
/// `FakeAws`). Organizations: the accounts in [`organization`];
/// `DescribeAccount` of an ID starting with 9 fails, of 000000000000 is denied.
/// GuardDuty: the detector exists unless the event says `nodetector`;
/// IDs ending in an even digit are members already (0 Enabled, 2 Invited,
/// 4 EmailVerificationFailed, 6 and 8 Removed); `CreateMembers` refuses
/// IDs ending in 7, `InviteMembers` IDs ending in 8.
fn fake_aws(text: &str) -> FakeAws {
    FakeAws::new(World {
        organization: Some(organization().to_vec()),
        org_id: "o-fuzz".into(),
        detector: (!text.contains("nodetector")).then(|| "fuzzdetector".to_string()),
        describe_errors: PerAccount::by(|id| {
            if id == "000000000000" {
                Some(OrgError::AccessDenied("AccessDeniedException: fuzz".into()))
            } else {
                id.starts_with('9')
                    .then(|| OrgError::Other("ServiceException: fuzz".into()))
            }
        }),
        members: PerAccount::by(|id| match id.chars().last() {
            Some('0') => Some("Enabled".into()),
            Some('2') => Some("Invited".into()),
            Some('4') => Some("EmailVerificationFailed".into()),
            Some('6' | '8') => Some("Removed".into()),
            _ => None,
        }),
        create_refusals: PerAccount::by(|id| {
            id.ends_with('7')
                .then(|| "The email address is invalid.".into())
        }),
        invite_refusals: PerAccount::by(|id| id.ends_with('8').then(|| "refused".into())),
        enabled_regions: ["us-east-1", "ap-east-1", "eu-west-2"].map(String::from).into(),
        refused_regions: vec!["ap-east-1".into()],
        regions_without_detector: vec!["eu-west-2".into()],
        no_role: PerAccount::by(|id| Some(id.starts_with('5'))),
        no_member_detector: PerAccount::by(|id| Some(id.starts_with('3'))),
        ..World::default()
    })
}

/// The changes made so far: CreateMembers and DeleteMembers, InviteMembers.
fn changes(aws: &FakeAws) -> (usize, usize) {
    (
        aws.made("CreateMembers") + aws.made("DeleteMembers"),
        aws.made("InviteMembers"),
    )
}

/// Every account sent to InviteMembers so far.
fn sent_to_invite(aws: &FakeAws) -> Vec<String> {
    aws.calls()
        .into_iter()
        .filter_map(|call| match call {
            Call::InviteMembers { account_ids, .. } => Some(account_ids),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Every member account that accepted an invitation so far.
fn accepted(aws: &FakeAws) -> Vec<String> {
    aws.calls()
        .into_iter()
        .filter_map(|call| match call {
            Call::AcceptInvitation { member, .. } => Some(member.account_id),
            _ => None,
        })
        .collect()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a tokio runtime")
    })
}

fn settings(text: &str) -> Settings {
    Settings {
        max_accounts_per_event: MAX_ACCOUNTS,
        max_calls_in_flight: SLOTS,
        member_role: text.contains("role").then(|| MemberRoleSettings {
            name: "GuardDutyInviterMember".into(),
            external_id: None,
            create_detectors: text.contains("create"),
        }),
        ..Settings::default()
    }
}

fuzz_target!(|data: &[u8]| {
    // What the Lambda runtime does with the body first; must never panic.
    let raw: Result<Box<RawValue>, _> = serde_json::from_slice(data);
    let value: Option<Value> = serde_json::from_slice(data).ok();
    let parsed = value.as_ref().map(|v| event::parse(v, MAX_ACCOUNTS));

    let Ok(text) = std::str::from_utf8(data) else {
        // Lambda only delivers JSON, which is UTF-8: the byte-level parse
        // above is the whole property here.
        assert!(
            raw.is_err() && value.is_none(),
            "non-UTF-8 bytes parsed as JSON"
        );
        return;
    };
    // The runtime's RawValue takes some text serde_json's Value refuses (a lone
    // UTF-16 surrogate escape, "\ud800"): the handler then sees it and must
    // answer InvalidEvent, which the checks below cover. The reverse never.
    if value.is_some() {
        assert!(raw.is_ok(), "a Value the runtime's RawValue refuses");
    }

    let inviter = Inviter::new(fake_aws(text), settings(text));
    for _warm in [false, true] {
        let (creates, invites) = changes(inviter.aws());
        let result =
            runtime().block_on(inviter.invite(text, Some(ADMIN), Some(Duration::from_secs(5))));
        match result {
            Ok(answer) => {
                let request = match &parsed {
                    Some(Ok(request)) => request,
                    other => panic!("answered an event that does not parse: {other:?}"),
                };
                let named: Vec<&str> = request
                    .accounts
                    .iter()
                    .map(|n| n.account_id.as_str())
                    .collect();
                let sent = sent_to_invite(inviter.aws());
                let accepted = accepted(inviter.aws());
                for response in answer.responses() {
                    check_response(&named, request.dry_run, response);
                    for id in &response.invited_accounts {
                        assert!(
                            sent.contains(id),
                            "{id} reported invited, never sent to InviteMembers"
                        );
                    }
                    for id in response.enabled_accounts.iter().flatten() {
                        assert!(accepted.contains(id), "{id} reported enabled, never accepted");
                    }
                }
                if request.dry_run {
                    assert_eq!(
                        changes(inviter.aws()),
                        (creates, invites),
                        "a dry run created or invited"
                    );
                }
                serde_json::to_string(&answer).expect("the answer serializes");
            }
            Err(error) => {
                let error_type = error.error_type();
                assert!(
                    matches!(
                        error_type,
                        "InvalidEvent"
                            | "DetectorNotFound"
                            | "OrganizationsAccessDenied"
                            | "RegionDiscoveryFailed"
                    ),
                    "unexpected errorType {error_type}"
                );
                let parses = matches!(parsed, Some(Ok(_)));
                assert_eq!(
                    error_type == "InvalidEvent",
                    !parses,
                    "InvalidEvent exactly when the event does not parse: {error}"
                );
                assert_eq!(
                    changes(inviter.aws()),
                    (creates, invites),
                    "changed something, then failed with {error_type}"
                );
            }
        }
    }
});

/// Every distinct account named in exactly one list, in the event's order;
/// nothing else listed.
fn check_response(named: &[&str], dry_run: bool, response: &Response) {
    assert_exactly_once(named, response);

    assert_eq!(response.dry_run, dry_run);
    assert_eq!(response.would_invite_accounts.is_some(), dry_run);
    if dry_run {
        assert!(response.invited_accounts.is_empty(), "a dry run invited");
    }
    for id in response
        .invited_accounts
        .iter()
        .chain(response.would_invite_accounts.iter().flatten())
        .chain(response.enabled_accounts.iter().flatten())
    {
        assert!(is_account_id(id) && id != ADMIN, "{id:?} invited");
        assert!(!is_member(id), "organization member {id} invited");
    }
}
