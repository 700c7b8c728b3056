//! Fuzz target over the raw event bytes: the real handler path
//! (`Inviter::invite`) over a deterministic in-memory AWS that answers at once.
//!
//! For every input: no panic, no hang (libFuzzer's `-timeout`), and either
//! - `Ok(response)`: every distinct account the event names appears exactly
//!   once across invitedAccounts / wouldInviteAccounts / skippedAccounts /
//!   unprocessedAccounts, no organization member is invited, a dry run calls
//!   neither CreateMembers nor InviteMembers, and the response serializes; or
//! - `Err(e)`: `e.error_type()` is one of the stable names, and it is
//!   `InvalidEvent` exactly when the event does not parse.
//!
//! Each input runs twice on the same `Inviter`: cold, then warm (the
//! Organizations cache and the discovered detector in use).

#![no_main]

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use guardduty_inviter::config::Settings;
use guardduty_inviter::engine::Aws;
use guardduty_inviter::event;
use guardduty_inviter::handler::Inviter;
use guardduty_inviter::plan::{
    AccountsPage, BATCH, Call, MemberRecord, MemberStatus, Membership, OrgError, Rejected, Reply,
};
use guardduty_inviter::response::Response;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use serde_json::value::RawValue;

/// The administrator's own account, as the function ARN would give it.
const OWN_ACCOUNT: &str = "999999999999";
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
        members.extend((0..42).map(|n| format!("{:012}", 200_000_000_000u64 + n)));
        members
    })
}

fn is_member(id: &str) -> bool {
    organization().iter().any(|m| m == id)
}

fn valid_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// Deterministic AWS. Organizations: the accounts in [`organization`];
/// `DescribeAccount` of an ID starting with 9 fails, of 000000000000 is denied.
/// GuardDuty: the detector exists unless the event says `nodetector`;
/// IDs ending in an even digit are members already; `CreateMembers` refuses
/// IDs ending in 7, `InviteMembers` IDs ending in 8.
struct FakeAws {
    detector: Option<String>,
    creates: AtomicUsize,
    invites: AtomicUsize,
    invited: Mutex<Vec<String>>,
}

impl Aws for FakeAws {
    fn call(&self, call: Call) -> impl Future<Output = Reply> + Send {
        let reply = match call {
            Call::DescribeAccount { account_id } => {
                assert!(valid_id(&account_id), "DescribeAccount of {account_id:?}");
                assert_ne!(
                    account_id, OWN_ACCOUNT,
                    "DescribeAccount of the own account"
                );
                Reply::Account(if account_id == "000000000000" {
                    Err(OrgError::AccessDenied("AccessDeniedException: fuzz".into()))
                } else if account_id.starts_with('9') {
                    Err(OrgError::Other("ServiceException: fuzz".into()))
                } else if is_member(&account_id) {
                    Ok(Membership::Member {
                        org_id: Some("o-fuzz".into()),
                    })
                } else {
                    Ok(Membership::NotMember)
                })
            }
            Call::ListAccounts { next_token } => {
                let org = organization();
                let start: usize = match next_token.as_deref() {
                    None => 0,
                    Some(t) => t.parse().expect("a token this fake gave"),
                };
                let end = (start + 20).min(org.len());
                Reply::AccountsPage(Ok(AccountsPage {
                    accounts: org[start..end]
                        .iter()
                        .map(|m| (m.clone(), Some("o-fuzz".into())))
                        .collect(),
                    next_token: (end < org.len()).then(|| end.to_string()),
                }))
            }
            Call::ListDetectors => Reply::Detectors(Ok(self.detector.clone())),
            Call::GetMembers { account_ids, .. } => {
                check_batch("GetMembers", &account_ids);
                Reply::Members(Ok(account_ids
                    .into_iter()
                    .filter(|id| id.ends_with(['0', '2', '4', '6', '8']))
                    .map(|account_id| MemberRecord {
                        account_id,
                        status: MemberStatus::Removed,
                        email: None,
                        invited_at: None,
                    })
                    .collect()))
            }
            Call::DeleteMembers { account_ids, .. } => {
                // A change, like creating: counted with the creates.
                self.creates.fetch_add(1, Ordering::SeqCst);
                check_batch("DeleteMembers", &account_ids);
                Reply::Deleted(Ok(vec![]))
            }
            Call::CreateMembers { accounts, .. } => {
                self.creates.fetch_add(1, Ordering::SeqCst);
                let ids: Vec<String> = accounts.iter().map(|(id, _)| id.clone()).collect();
                check_batch("CreateMembers", &ids);
                for (id, email) in &accounts {
                    assert!(!is_member(id), "CreateMembers for organization member {id}");
                    assert!(
                        !email.is_empty() && email.contains('@'),
                        "CreateMembers with e-mail {email:?}"
                    );
                }
                Reply::Created(Ok(ids
                    .into_iter()
                    .filter(|id| id.ends_with('7'))
                    .map(|account_id| Rejected {
                        account_id,
                        result: "The email address is invalid.".into(),
                        already_member: false,
                    })
                    .collect()))
            }
            Call::InviteMembers { account_ids, .. } => {
                self.invites.fetch_add(1, Ordering::SeqCst);
                check_batch("InviteMembers", &account_ids);
                for id in &account_ids {
                    assert!(!is_member(id), "InviteMembers for organization member {id}");
                }
                self.invited
                    .lock()
                    .unwrap()
                    .extend(account_ids.iter().cloned());
                Reply::Invited(Ok(account_ids
                    .into_iter()
                    .filter(|id| id.ends_with('8'))
                    .map(|account_id| Rejected {
                        account_id,
                        result: "refused".into(),
                        already_member: false,
                    })
                    .collect()))
            }
        };
        std::future::ready(reply)
    }
}

fn check_batch(operation: &str, ids: &[String]) {
    assert!(
        !ids.is_empty() && ids.len() <= BATCH,
        "{operation} with {} accounts",
        ids.len()
    );
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        distinct.len(),
        ids.len(),
        "{operation} names an account twice"
    );
    for id in ids {
        assert!(valid_id(id), "{operation} with account {id:?}");
        assert_ne!(id, OWN_ACCOUNT, "{operation} with the own account");
    }
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

fn settings() -> Settings {
    Settings {
        max_accounts_per_event: MAX_ACCOUNTS,
        max_calls_in_flight: SLOTS,
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

    let aws = FakeAws {
        detector: (!text.contains("nodetector")).then(|| "fuzzdetector".to_string()),
        creates: AtomicUsize::new(0),
        invites: AtomicUsize::new(0),
        invited: Mutex::new(Vec::new()),
    };
    let inviter = Inviter::new(aws, settings());
    for _warm in [false, true] {
        let creates = inviter.aws().creates.load(Ordering::SeqCst);
        let invites = inviter.aws().invites.load(Ordering::SeqCst);
        let result = runtime().block_on(inviter.invite(
            text,
            Some(OWN_ACCOUNT),
            Some(Duration::from_secs(5)),
        ));
        match result {
            Ok(response) => {
                let request = match &parsed {
                    Some(Ok(request)) => request,
                    other => panic!("answered an event that does not parse: {other:?}"),
                };
                let named: Vec<&str> = request
                    .accounts
                    .iter()
                    .map(|n| n.account_id.as_str())
                    .collect();
                check_response(&named, request.dry_run, &response);
                let sent = inviter.aws().invited.lock().unwrap();
                for id in &response.invited_accounts {
                    assert!(
                        sent.contains(id),
                        "{id} reported invited, never sent to InviteMembers"
                    );
                }
                drop(sent);
                if request.dry_run {
                    assert_eq!(
                        (
                            inviter.aws().creates.load(Ordering::SeqCst),
                            inviter.aws().invites.load(Ordering::SeqCst)
                        ),
                        (creates, invites),
                        "a dry run created or invited"
                    );
                }
                serde_json::to_string(&response).expect("the response serializes");
            }
            Err(error) => {
                let error_type = error.error_type();
                assert!(
                    matches!(
                        error_type,
                        "InvalidEvent" | "DetectorNotFound" | "OrganizationsAccessDenied"
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
                    (
                        inviter.aws().creates.load(Ordering::SeqCst),
                        inviter.aws().invites.load(Ordering::SeqCst)
                    ),
                    (creates, invites),
                    "changed something, then failed with {error_type}"
                );
            }
        }
    }
});

/// Every distinct account named in exactly one list; nothing else listed.
fn check_response(named: &[&str], dry_run: bool, response: &Response) {
    let mut listed: Vec<&str> = response.accounts().collect();
    let mut distinct: Vec<&str> = named.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    listed.sort_unstable();
    assert_eq!(listed, distinct, "each named account exactly once");

    assert_eq!(response.dry_run, dry_run);
    assert_eq!(response.would_invite_accounts.is_some(), dry_run);
    if dry_run {
        assert!(response.invited_accounts.is_empty(), "a dry run invited");
    }
    for id in response
        .invited_accounts
        .iter()
        .chain(response.would_invite_accounts.iter().flatten())
    {
        assert!(valid_id(id) && id != OWN_ACCOUNT, "{id:?} invited");
        assert!(!is_member(id), "organization member {id} invited");
    }
}
