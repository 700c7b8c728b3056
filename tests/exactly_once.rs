//! Property: whatever the mix of accounts and whatever AWS does (errors,
//! throttling that outlasts the retries, partial results, slowness against a
//! deadline), every distinct account named ends in exactly one output list,
//! no organization member is invited, and nothing is invited when the
//! invocation fails. Runs the real handler over an in-memory AWS, with tokio's
//! clock paused so that latencies and deadlines cost no real time.

use std::collections::HashSet;
use std::time::Duration;

use guardduty_inviter::config::Settings;
use guardduty_inviter::error::InvocationError;
use guardduty_inviter::handler::Inviter;
use guardduty_inviter::plan::Call;
use guardduty_inviter::testing::{ADMIN, FakeAws, Fault, World, account_id, assert_exactly_once};
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
        let named: Vec<String> = entries
            .iter()
            .map(|e| match e {
                Entry::Org(n) => account_id(ORG, *n),
                Entry::Outside(n) => account_id(OUTSIDE, *n),
                Entry::Invalid(s) => s.clone(),
            })
            .collect();
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
            // The i-th account named has the i-th status drawn (none: no record).
            members: named
                .iter()
                .zip(&statuses)
                .filter_map(|(id, status)| Some((id.clone(), status.clone()?)))
                .collect(),
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
