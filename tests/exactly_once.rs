//! Property: whatever the mix of accounts and whatever AWS does (errors,
//! throttling that outlasts the retries, partial results, slowness against a
//! deadline), every distinct account named ends in exactly one output list,
//! no organization member is invited, and nothing is invited when the
//! invocation fails. Runs the real handler over an in-memory AWS, with tokio's
//! clock paused so that latencies and deadlines cost no real time.

use std::collections::HashSet;
use std::time::Duration;

use guardduty_inviter::config::{MemberRoleSettings, Settings};
use guardduty_inviter::error::InvocationError;
use guardduty_inviter::handler::Inviter;
use guardduty_inviter::plan::{Call, Service};
use guardduty_inviter::response::FailCode;
use guardduty_inviter::testing::{
    ADMIN, FakeAws, Fault, PerAccount, World, account_id, assert_exactly_once,
};
use proptest::prelude::*;
use serde_json::json;

/// Where the organization's account IDs start, and the others'.
const ORG: u64 = 200_000_000_000;
const OUTSIDE: u64 = 300_000_000_000;

#[derive(Debug, Clone)]
enum Entry {
    Org(usize),
    Outside(usize),
    Invalid(String),
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        4 => (0usize..120).prop_map(Entry::Org),
        4 => (0usize..120).prop_map(Entry::Outside),
        1 => "[0-9a-z]{0,14}".prop_map(Entry::Invalid),
    ]
}

/// The member records of `named`: the i-th account has the i-th status
/// drawn (none: no record).
fn records_of(named: &[String], statuses: &[Option<String>]) -> PerAccount<String> {
    named
        .iter()
        .zip(statuses)
        .filter_map(|(id, status)| Some((id.clone(), status.clone()?)))
        .collect()
}

/// The account IDs the entries stand for, in order.
fn ids_of(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| match e {
            Entry::Org(n) => account_id(ORG, *n),
            Entry::Outside(n) => account_id(OUTSIDE, *n),
            Entry::Invalid(s) => s.clone(),
        })
        .collect()
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        8 => Just(Fault::None),
        2 => Just(Fault::Error),
        1 => Just(Fault::Partial),
        1 => (0u64..400).prop_map(Fault::Slow),
        1 => Just(Fault::Denied),
    ]
}

/// A member status GuardDuty may hold for an account, or no record at all.
fn status() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        2 => Just(Some("Removed".to_string())),
        1 => prop::sample::select(vec![
            "Created", "Resigned", "Invited", "Enabled", "Disabled",
            "EmailVerificationInProgress", "EmailVerificationFailed", "Paused",
        ])
        .prop_map(|s| Some(s.to_string())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_account_ends_in_exactly_one_list(
        entries in prop::collection::vec(entry(), 1..160),
        org_size in 0usize..300,
        in_org in any::<bool>(),
        with_emails in any::<bool>(),
        dry_run in any::<bool>(),
        faults in prop::collection::vec(fault(), 0..12),
        deadline_ms in prop::option::of(0u64..4000),
        detector in prop::option::of(Just("det".to_string())),
        cached_slots in 1usize..=5,
        statuses in prop::collection::vec(status(), 0..160),
    ) {
        let members: Vec<String> = (0..org_size.max(120)).map(|n| account_id(ORG, n)).collect();
        let named = ids_of(&entries);
        let (mut ids, mut accounts) = (Vec::new(), Vec::new());
        for (i, id) in named.iter().enumerate() {
            if with_emails && i % 3 == 0 {
                accounts.push(id.clone());
            } else {
                ids.push(id.clone());
            }
        }
        let event = json!({
            "accountIds": ids,
            "accounts": accounts.iter().map(|id| json!({"accountId": id, "email": "sec@example.com"})).collect::<Vec<_>>(),
            "dryRun": dry_run,
        });
        let aws = FakeAws::new(World {
            organization: in_org.then_some(members.clone()),
            org_id: "o-test".into(),
            detector,
            members: records_of(&named, &statuses),
            faults,
            ..World::default()
        });
        let settings = Settings { max_calls_in_flight: cached_slots, ..Settings::default() };
        let inviter = Inviter::new(aws, settings);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        let remaining = deadline_ms.map(Duration::from_millis);
        let (result, elapsed) = runtime.block_on(async {
            let start = tokio::time::Instant::now();
            let result = inviter.invite(&event.to_string(), Some(ADMIN), remaining).await.map(|a| a.single().expect("a single-Region answer"));
            (result, start.elapsed())
        });
        let aws = inviter.aws();
        if let Some(remaining) = remaining {
            prop_assert!(elapsed <= remaining, "answered after the deadline: {elapsed:?} > {remaining:?}");
        }
        // No write call for an account whose record says none, and never a
        // DeleteMembers without a different e-mail (the fake's recorded
        // e-mails all differ from the event's).
        let status_of = |id: &str| aws.world.members.get(id);
        let emailed = |id: &String| accounts.contains(id);
        for call in aws.calls() {
            let (op, named_ids): (&str, Vec<String>) = match &call {
                Call::DeleteMembers { account_ids, .. } => ("DeleteMembers", account_ids.clone()),
                Call::CreateMembers { accounts, .. } => ("CreateMembers", accounts.iter().map(|(id, _)| id.clone()).collect()),
                Call::InviteMembers { account_ids, .. } => ("InviteMembers", account_ids.clone()),
                _ => continue,
            };
            for id in &named_ids {
                let status = status_of(id);
                let allowed = match (op, status.as_deref()) {
                    ("DeleteMembers", Some("EmailVerificationFailed")) => emailed(id),
                    ("CreateMembers", None | Some("EmailVerificationFailed")) => emailed(id),
                    ("InviteMembers", None | Some("EmailVerificationFailed")) => emailed(id),
                    ("InviteMembers", Some("Created" | "Removed" | "Resigned")) => true,
                    _ => false,
                };
                prop_assert!(allowed, "{op} for {id} whose record is {status:?}");
            }
        }
        match result {
            Ok(response) => {
                // Event order: accountIds, then accounts.
                let order: Vec<String> = ids.iter().chain(accounts.iter()).cloned().collect();
                assert_exactly_once(&order, &response);
                let org: HashSet<&String> = if in_org { members.iter().collect() } else { HashSet::new() };
                for id in response.invited_accounts.iter().chain(response.would_invite_accounts.iter().flatten()) {
                    prop_assert!(!org.contains(id), "an organization member was invited");
                }
                if dry_run {
                    prop_assert!(response.invited_accounts.is_empty());
                    prop_assert_eq!(aws.made("InviteMembers") + aws.made("CreateMembers") + aws.made("DeleteMembers"), 0);
                }
                prop_assert!(response.invited_accounts.len() <= aws.made("InviteMembers") * 50);
            }
            Err(InvocationError::OrganizationsAccessDenied(_)) | Err(InvocationError::DetectorNotFound(_)) => {
                prop_assert_eq!(aws.made("InviteMembers") + aws.made("CreateMembers") + aws.made("DeleteMembers"), 0, "changed something, then failed");
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}

/// The Regions an event may name: two usable, one that refuses the account
/// (an opt-in Region not enabled), one without a detector.
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "ap-east-1", "eu-west-2"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// Over random Region sets and a member side with random faults: in
    /// every Region's response each account appears exactly once; nothing is
    /// written in an organization member, nor on the member side in a dry
    /// run; each member role is assumed at most once; whatever the member
    /// side did not finish is retryable.
    #[test]
    fn every_account_ends_once_per_region(
        entries in prop::collection::vec(entry(), 1..80),
        regions in prop::sample::subsequence(REGIONS.to_vec(), 1..=4).prop_shuffle(),
        member_role in any::<bool>(),
        create_detectors in any::<bool>(),
        dry_run in any::<bool>(),
        faults in prop::collection::vec(fault(), 0..8),
        deadline_ms in prop::option::of(0u64..3000),
        statuses in prop::collection::vec(status(), 0..80),
    ) {
        let members: Vec<String> = (0..120).map(|n| account_id(ORG, n)).collect();
        let named = ids_of(&entries);
        let event = json!({
            "accounts": named.iter().map(|id| json!({"accountId": id, "email": "sec@example.com"})).collect::<Vec<_>>(),
            "regions": regions,
            "dryRun": dry_run,
        });
        let aws = FakeAws::new(World {
            organization: Some(members.clone()),
            org_id: "o-test".into(),
            members: records_of(&named, &statuses),
            faults,
            refused_regions: vec!["ap-east-1".into()],
            regions_without_detector: vec!["eu-west-2".into()],
            // Accounts ending in 3 have no role to assume, in 4 no detector.
            no_role: PerAccount::by(|id| Some(id.ends_with('3'))),
            no_member_detector: PerAccount::by(|id| Some(id.ends_with('4'))),
            ..World::default()
        });
        let settings = Settings {
            member_role: member_role.then(|| MemberRoleSettings {
                name: "GuardDutyInviterMember".into(),
                external_id: None,
                create_detectors,
            }),
            ..Settings::default()
        };
        let inviter = Inviter::new(aws, settings);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        let remaining = deadline_ms.map(Duration::from_millis);
        let result = runtime.block_on(inviter.invite(&event.to_string(), Some(ADMIN), remaining));
        let aws = inviter.aws();
        let mut assumed = HashSet::new();
        for call in aws.calls() {
            if call.service() == Service::Sts || call.service() == Service::MemberGuardDuty {
                prop_assert!(member_role && !dry_run, "a member-side call: {call:?}");
            }
            if let Call::AssumeRole { role_arn, .. } = &call {
                prop_assert!(assumed.insert(role_arn.clone()), "{role_arn} assumed twice");
            }
        }
        let org: HashSet<&String> = members.iter().collect();
        match result {
            Ok(answer) => {
                let multi = answer.multi().expect("a multi-Region answer");
                let listed: Vec<&str> = multi.regions.iter().map(|r| r.region.as_str()).collect();
                prop_assert_eq!(listed, regions.clone());
                for region in &multi.regions {
                    let response = &region.response;
                    assert_exactly_once(&named, response);
                    prop_assert_eq!(response.enabled_accounts.is_some(), member_role);
                    let reached = response.invited_accounts.iter()
                        .chain(response.would_invite_accounts.iter().flatten())
                        .chain(response.enabled_accounts.iter().flatten());
                    for id in reached {
                        prop_assert!(!org.contains(id), "organization member {} invited", id);
                    }
                    for u in &response.unprocessed_accounts {
                        if matches!(u.code, FailCode::AcceptFailed | FailCode::NotAttempted | FailCode::OutcomeUnknown) {
                            prop_assert!(u.retryable, "{:?}", u);
                        }
                        if u.code == FailCode::RegionUnavailable {
                            prop_assert!(region.region == "ap-east-1" || region.region == "eu-west-2");
                        }
                    }
                    if region.region == "ap-east-1" || region.region == "eu-west-2" {
                        prop_assert_eq!(region.response.detector_id.as_deref(), None);
                        prop_assert!(response.invited_accounts.is_empty() && response.enabled_accounts.iter().flatten().next().is_none());
                    }
                }
            }
            Err(InvocationError::OrganizationsAccessDenied(_)) => {
                prop_assert_eq!(aws.made("InviteMembers") + aws.made("CreateMembers") + aws.made("DeleteMembers") + aws.made("AssumeRole"), 0, "changed something, then failed");
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}

/// Found by the property above (shrunk): the listing's third page is denied
/// after a member role was already assumed for the one outside account.
/// Failing the invocation then would say nothing was done while the member
/// account had been acted in; the accounts still unknown are reported
/// instead, and the outside account goes on to be accepted.
#[test]
fn a_denial_after_a_role_was_assumed_is_reported_per_account() {
    let members: Vec<String> = (0..120).map(|n| account_id(ORG, n)).collect();
    // The outside account is the one the lookup describes first (of these
    // accounts, its ID has the lowest key in the race's order), as in the
    // shrunk case: its probe finds it outside at once.
    let outside = account_id(OUTSIDE, 291);
    let mut named = vec![outside.clone()];
    named.extend(
        [
            4, 5, 6, 7, 8, 0, 14, 30, 15, 16, 9, 1, 17, 18, 19, 20, 10, 40, 41, 42, 43,
        ]
        .map(|n| account_id(ORG, n)),
    );
    let event = json!({
        "accounts": named.iter().map(|id| json!({"accountId": id, "email": "sec@example.com"})).collect::<Vec<_>>(),
        "regions": ["us-east-1", "eu-west-2"],
    });
    let aws = FakeAws::new(World {
        organization: Some(members),
        org_id: "o-test".into(),
        // Round-robin over the calls in the order they are made: the first
        // page is slow, the third (the 8th call) denied.
        faults: vec![Fault::Slow(1), Fault::None, Fault::None, Fault::Denied],
        regions_without_detector: vec!["eu-west-2".into()],
        ..World::default()
    });
    let settings = Settings {
        member_role: Some(MemberRoleSettings {
            name: "GuardDutyInviterMember".into(),
            external_id: None,
            create_detectors: false,
        }),
        ..Settings::default()
    };
    let inviter = Inviter::new(aws, settings);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let answer = runtime.block_on(inviter.invite(&event.to_string(), Some(ADMIN), None));
    let aws = inviter.aws();
    assert_eq!(
        aws.made("AssumeRole"),
        1,
        "the scenario: a role assumed before the denial"
    );
    let denied_after = aws
        .calls()
        .iter()
        .position(|c| matches!(c, Call::AssumeRole { .. }))
        < aws
            .calls()
            .iter()
            .rposition(|c| matches!(c, Call::ListAccounts { .. }));
    assert!(
        denied_after,
        "the scenario: a page asked after the role: {:?}",
        aws.calls()
    );
    let multi = answer
        .expect("not an invocation-wide error")
        .multi()
        .expect("a multi-Region answer");
    let first = &multi.regions[0].response;
    assert_exactly_once(&named, first);
    assert_eq!(first.enabled_accounts.as_deref(), Some(&[outside][..]));
    let unknown: Vec<&str> = first
        .unprocessed_accounts
        .iter()
        .filter(|u| u.code == FailCode::MembershipUnknown && u.result.contains("AccessDenied"))
        .map(|u| u.account_id.as_str())
        .collect();
    assert!(
        !unknown.is_empty(),
        "the accounts the denied page would have settled: {first:?}"
    );
}
