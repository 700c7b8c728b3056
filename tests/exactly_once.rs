//! Property: whatever the mix of accounts and whatever AWS does (errors,
//! throttling that outlasts the retries, partial results, slowness against a
//! deadline), every distinct account named ends in exactly one output list,
//! no organization member is invited, and nothing is invited when the
//! invocation fails. Runs the real handler over an in-memory AWS, with tokio's
//! clock paused so that latencies and deadlines cost no real time.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use guardduty_inviter::config::Settings;
use guardduty_inviter::engine::Aws;
use guardduty_inviter::error::InvocationError;
use guardduty_inviter::handler::Inviter;
use guardduty_inviter::plan::{
    AccountsPage, Call, CallError, MemberRecord, MemberStatus, Membership, OrgError, Rejected,
    Reply,
};
use guardduty_inviter::response::Response;
use proptest::prelude::*;
use serde_json::json;

/// What AWS does to one call.
#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    /// The call fails (a 5xx or throttling that outlasted the retries).
    Error,
    /// GuardDuty reports the first account of the batch unprocessed.
    Partial,
    /// Organizations denies access.
    Denied,
    /// The call takes this many milliseconds.
    Slow(u64),
}

struct FakeAws {
    organization: Option<Vec<String>>,
    detector: Option<String>,
    faults: Vec<Fault>,
    next: AtomicUsize,
    calls: Mutex<Vec<Call>>,
}

impl FakeAws {
    fn fault(&self) -> Fault {
        if self.faults.is_empty() {
            return Fault::None;
        }
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.faults[i % self.faults.len()]
    }

    fn made(&self, operation: &str) -> usize {
        let calls = self.calls.lock().unwrap();
        calls.iter().filter(|c| c.operation() == operation).count()
    }
}

impl Aws for FakeAws {
    fn call(&self, call: Call) -> impl Future<Output = Reply> + Send {
        self.calls.lock().unwrap().push(call.clone());
        let fault = self.fault();
        let org = self.organization.clone();
        let detector = self.detector.clone();
        async move {
            if let Fault::Slow(ms) = fault {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let error = matches!(fault, Fault::Error);
            let org_error = match fault {
                Fault::Error => Some(OrgError::Other("ServiceException: boom".into())),
                Fault::Denied => Some(OrgError::AccessDenied("denied".into())),
                _ => None,
            };
            match call {
                Call::DescribeAccount { account_id } => Reply::Account(match (org_error, &org) {
                    (Some(e), _) => Err(e),
                    (None, None) => Err(OrgError::NotInUse),
                    (None, Some(members)) if members.contains(&account_id) => {
                        Ok(Membership::Member {
                            org_id: Some("o-test".into()),
                        })
                    }
                    (None, Some(_)) => Ok(Membership::NotMember),
                }),
                Call::ListAccounts { next_token } => Reply::AccountsPage(match (org_error, &org) {
                    (Some(e), _) => Err(e),
                    (None, None) => Err(OrgError::NotInUse),
                    (None, Some(members)) => {
                        let start: usize = next_token.as_deref().map_or(0, |t| t.parse().unwrap());
                        let end = (start + 20).min(members.len());
                        Ok(AccountsPage {
                            accounts: members[start..end]
                                .iter()
                                .map(|m| (m.clone(), Some("o-test".into())))
                                .collect(),
                            next_token: (end < members.len()).then(|| end.to_string()),
                        })
                    }
                }),
                Call::ListDetectors => Reply::Detectors(if error {
                    Err(CallError::new("InternalServerErrorException: boom", true))
                } else {
                    Ok(detector)
                }),
                Call::GetMembers { account_ids, .. } => Reply::Members(if error {
                    Err(CallError::new("InternalServerErrorException: boom", true))
                } else {
                    Ok(account_ids
                        .into_iter()
                        .step_by(2)
                        .map(|account_id| MemberRecord {
                            account_id,
                            status: MemberStatus::Removed,
                            email: None,
                            invited_at: None,
                        })
                        .collect())
                }),
                Call::DeleteMembers { .. } => Reply::Deleted(if error {
                    Err(CallError::new("InternalServerErrorException: boom", true))
                } else {
                    Ok(vec![])
                }),
                Call::CreateMembers { accounts, .. } => Reply::Created(match fault {
                    Fault::Error => Err(CallError::new("InternalServerErrorException: boom", true)),
                    Fault::Partial => Ok(vec![Rejected {
                        account_id: accounts[0].0.clone(),
                        result: "The email address is invalid.".into(),
                        already_member: false,
                    }]),
                    _ => Ok(vec![]),
                }),
                Call::InviteMembers { account_ids, .. } => Reply::Invited(match fault {
                    Fault::Error => Err(CallError::new(
                        "TooManyRequestsException: rate exceeded",
                        true,
                    )),
                    Fault::Partial => Ok(vec![Rejected {
                        account_id: account_ids[0].clone(),
                        result: "refused".into(),
                        already_member: false,
                    }]),
                    _ => Ok(vec![]),
                }),
            }
        }
    }
}

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

fn org_id(n: usize) -> String {
    format!("{:012}", 200_000_000_000usize + n)
}

fn outside_id(n: usize) -> String {
    format!("{:012}", 300_000_000_000usize + n)
}

/// Every distinct account in exactly one list, in first-seen order.
fn assert_exactly_once(named: &[String], response: &Response) {
    let listed: Vec<&str> = response.accounts().collect();
    let mut distinct = Vec::new();
    let mut seen = HashSet::new();
    for id in named {
        if seen.insert(id.as_str()) {
            distinct.push(id.as_str());
        }
    }
    let mut sorted_listed = listed.clone();
    sorted_listed.sort_unstable();
    let mut sorted_named = distinct.clone();
    sorted_named.sort_unstable();
    assert_eq!(sorted_listed, sorted_named, "each account exactly once");
    let position: HashMap<&str, usize> = distinct
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    for list in [
        response
            .invited_accounts
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        response
            .skipped_accounts
            .iter()
            .map(|s| s.account_id.as_str())
            .collect(),
        response
            .unprocessed_accounts
            .iter()
            .map(|u| u.account_id.as_str())
            .collect(),
    ] {
        assert!(
            list.windows(2).all(|w| position[w[0]] < position[w[1]]),
            "input order kept"
        );
    }
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
    ) {
        let members: Vec<String> = (0..org_size.max(120)).map(org_id).collect();
        let named: Vec<String> = entries
            .iter()
            .map(|e| match e {
                Entry::Org(n) => org_id(*n),
                Entry::Outside(n) => outside_id(*n),
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
        let aws = FakeAws {
            organization: in_org.then_some(members.clone()),
            detector,
            faults,
            next: AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
        };
        let settings = Settings { max_calls_in_flight: cached_slots, ..Settings::default() };
        let inviter = Inviter::new(aws, settings);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        let remaining = deadline_ms.map(Duration::from_millis);
        let (result, elapsed) = runtime.block_on(async {
            let start = tokio::time::Instant::now();
            let result = inviter.invite(&event.to_string(), Some("999999999999"), remaining).await;
            (result, start.elapsed())
        });
        let aws = &inviter_aws(&inviter);
        if let Some(remaining) = remaining {
            prop_assert!(elapsed <= remaining, "answered after the deadline: {elapsed:?} > {remaining:?}");
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
                    prop_assert_eq!(aws.made("InviteMembers") + aws.made("CreateMembers"), 0);
                }
                prop_assert!(response.invited_accounts.len() <= aws.made("InviteMembers") * 50);
            }
            Err(InvocationError::OrganizationsAccessDenied(_)) | Err(InvocationError::DetectorNotFound(_)) => {
                prop_assert_eq!(aws.made("InviteMembers") + aws.made("CreateMembers"), 0, "changed something, then failed");
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}

fn inviter_aws(inviter: &Inviter<FakeAws>) -> &FakeAws {
    inviter.aws()
}
