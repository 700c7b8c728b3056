//! Shared mutable state of one emulator instance.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::identity::Iam;
use crate::model::{Call, Fault};
use crate::regions::Regions;
use crate::space::Space;

/// One queued fault.
#[derive(Debug, Clone)]
pub(crate) struct FaultRule {
    pub(crate) fault: Fault,
    pub(crate) remaining: usize,
    pub(crate) account: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Organization {
    pub(crate) id: String,
    pub(crate) management_account_id: String,
}

#[derive(Debug, Clone)]
pub(crate) struct OrgAccountRec {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) status: String,
    pub(crate) joined_method: &'static str,
    pub(crate) joined_timestamp: f64,
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Flight {
    pub(crate) current: usize,
    pub(crate) max: usize,
}

#[derive(Debug)]
pub(crate) struct State {
    /// The GuardDuty administrator: the account every access key the
    /// emulator did not issue acts as.
    pub(crate) admin_account_id: String,
    /// GuardDuty per (account, Region).
    pub(crate) spaces: HashMap<(String, String), Space>,
    /// Counter behind `fresh_hex_id`.
    pub(crate) id_seq: u64,
    /// Member roles and the credentials AssumeRole issued.
    pub(crate) iam: Iam,
    /// AWS Account's Region list; Regions GuardDuty refuses.
    pub(crate) regions: Regions,
    /// account id -> InviteMembers unprocessed result.
    pub(crate) refusals: HashMap<String, String>,
    pub(crate) org: Option<Organization>,
    pub(crate) org_accounts: Vec<OrgAccountRec>,
    pub(crate) org_index: HashMap<String, usize>,
    pub(crate) empty_every: usize,
    pub(crate) latency: HashMap<String, Duration>,
    pub(crate) default_latency: Option<Duration>,
    /// Faults in injection order (a queue per op, interleaved).
    pub(crate) faults: Vec<(String, FaultRule)>,
    pub(crate) calls: Vec<Call>,
    /// Bumped by reset_calls so late finishing requests don't touch new records.
    pub(crate) calls_generation: u64,
    pub(crate) flight: HashMap<String, Flight>,
    pub(crate) request_seq: u64,
}

impl State {
    pub(crate) fn new() -> Self {
        State {
            admin_account_id: "999999999999".to_string(),
            spaces: HashMap::new(),
            id_seq: 0,
            iam: Iam::default(),
            regions: Regions::default(),
            refusals: HashMap::new(),
            org: None,
            org_accounts: Vec::new(),
            org_index: HashMap::new(),
            empty_every: 0,
            latency: HashMap::new(),
            default_latency: None,
            faults: Vec::new(),
            calls: Vec::new(),
            calls_generation: 0,
            flight: HashMap::new(),
            request_seq: 0,
        }
    }

    /// Forgets recorded calls and resets every `max` in flight to the current count.
    pub(crate) fn reset_calls(&mut self) {
        self.calls.clear();
        self.calls_generation += 1;
        for f in self.flight.values_mut() {
            f.max = f.current;
        }
    }

    /// Takes the first queued fault for `op` that matches the request: a
    /// rule for an account matches requests that name it or that it makes
    /// (`acting`).
    pub(crate) fn take_fault(
        &mut self,
        op: &str,
        accounts: &[String],
        acting: &str,
    ) -> Option<Fault> {
        let pos = self.faults.iter().position(|(o, r)| {
            o == op
                && r.remaining > 0
                && r.account
                    .as_ref()
                    .is_none_or(|a| a == acting || accounts.iter().any(|x| x == a))
        })?;
        let rule = &mut self.faults[pos].1;
        let fault = rule.fault;
        if rule.remaining != usize::MAX {
            rule.remaining -= 1;
        }
        if rule.remaining == 0 {
            self.faults.remove(pos);
        }
        Some(fault)
    }

    pub(crate) fn latency_for(&self, op: &str) -> Option<Duration> {
        self.latency.get(op).copied().or(self.default_latency)
    }

    pub(crate) fn upsert_org_account(&mut self, id: &str, status: &str) {
        if let Some(&i) = self.org_index.get(id) {
            self.org_accounts[i].status = status.to_string();
            return;
        }
        let n = self.org_accounts.len();
        self.org_accounts.push(OrgAccountRec {
            id: id.to_string(),
            email: format!("aws+{id}@example.com"),
            name: format!("Account {id}"),
            status: status.to_string(),
            joined_method: if n.is_multiple_of(3) {
                "CREATED"
            } else {
                "INVITED"
            },
            // 2020-01-01T00:00:00Z plus one day per account.
            joined_timestamp: 1_577_836_800.0 + (n as f64) * 86_400.0 + 0.5,
        });
        self.org_index.insert(id.to_string(), n);
    }
}

/// State shared between the `Emulator` handle and the server tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) started: Instant,
    /// TCP connections accepted so far.
    pub(crate) connections: AtomicUsize,
}

impl Shared {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Shared {
            state: Mutex::new(State::new()),
            started: Instant::now(),
            connections: AtomicUsize::new(0),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Queue helper used by both the library API and the control plane.
pub(crate) fn push_fault(
    shared: &Shared,
    op: &str,
    fault: Fault,
    times: usize,
    account: Option<&str>,
) {
    if times == 0 {
        return;
    }
    shared.lock().faults.push((
        op.to_string(),
        FaultRule {
            fault,
            remaining: times,
            account: account.map(str::to_string),
        },
    ));
}
