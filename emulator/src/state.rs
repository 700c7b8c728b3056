//! Shared mutable state of one emulator instance.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::model::{Call, Fault, Member, status_implies_invitation};
use crate::util::now_iso8601;

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
    /// The account that owns the detectors (GuardDuty administrator).
    pub(crate) admin_account_id: String,
    /// Detector IDs, in insertion order.
    pub(crate) detectors: Vec<String>,
    /// detector id -> account id -> member.
    pub(crate) members: HashMap<String, HashMap<String, Member>>,
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
            detectors: Vec::new(),
            members: HashMap::new(),
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

    pub(crate) fn has_detector(&self, id: &str) -> bool {
        self.detectors.iter().any(|d| d == id)
    }

    pub(crate) fn ensure_detector(&mut self, id: &str) {
        if !self.has_detector(id) {
            self.detectors.push(id.to_string());
        }
        self.members.entry(id.to_string()).or_default();
    }

    /// Seeds (or overwrites) a member with any status; creates the detector
    /// if needed. `invitedAt` is set when the status implies an invitation
    /// went out (see `status_implies_invitation`).
    pub(crate) fn put_member(
        &mut self,
        detector_id: &str,
        account_id: &str,
        email: &str,
        status: &str,
    ) {
        self.ensure_detector(detector_id);
        let now = now_iso8601();
        let invited_at = status_implies_invitation(status).then(|| now.clone());
        self.members
            .entry(detector_id.to_string())
            .or_default()
            .insert(
                account_id.to_string(),
                Member {
                    detector_id: detector_id.to_string(),
                    account_id: account_id.to_string(),
                    email: email.to_string(),
                    relationship_status: status.to_string(),
                    invited_at,
                    updated_at: now,
                    invited_message: None,
                    disable_email_notification: None,
                    invite_count: 0,
                },
            );
    }

    /// Forgets recorded calls and resets every `max` in flight to the current count.
    pub(crate) fn reset_calls(&mut self) {
        self.calls.clear();
        self.calls_generation += 1;
        for f in self.flight.values_mut() {
            f.max = f.current;
        }
    }

    /// Takes the first queued fault for `op` that matches the request's accounts.
    pub(crate) fn take_fault(&mut self, op: &str, accounts: &[String]) -> Option<Fault> {
        let pos = self.faults.iter().position(|(o, r)| {
            o == op
                && r.remaining > 0
                && r.account
                    .as_ref()
                    .is_none_or(|a| accounts.iter().any(|x| x == a))
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

/// Counts a request in flight from arrival until it is dropped (response body
/// fully handed to hyper, or the connection torn down). Also stamps the call's
/// end time.
pub(crate) struct InFlightGuard {
    pub(crate) shared: Arc<Shared>,
    pub(crate) service: &'static str,
    pub(crate) generation: u64,
    pub(crate) call_index: usize,
    pub(crate) status: Option<u16>,
}

impl InFlightGuard {
    /// Registers a new call and counts it in flight. Returns the guard and the
    /// fault chosen for this call (if any).
    pub(crate) fn begin(
        shared: &Arc<Shared>,
        op: &str,
        service: &'static str,
        accounts: Vec<String>,
        disable_email_notification: Option<bool>,
        authorized: bool,
    ) -> (InFlightGuard, Option<Fault>, Option<Duration>, u64) {
        let mut st = shared.lock();
        let fault = if authorized {
            st.take_fault(op, &accounts)
        } else {
            None
        };
        let latency = st.latency_for(op);
        st.request_seq += 1;
        let seq = st.request_seq;
        let flight = st.flight.entry(service.to_string()).or_default();
        flight.current += 1;
        flight.max = flight.max.max(flight.current);
        let call_index = st.calls.len();
        st.calls.push(Call {
            op: op.to_string(),
            service: service.to_string(),
            accounts,
            fault,
            start: Instant::now(),
            end: None,
            authorized,
            status: None,
            disable_email_notification,
        });
        let generation = st.calls_generation;
        drop(st);
        (
            InFlightGuard {
                shared: shared.clone(),
                service,
                generation,
                call_index,
                status: None,
            },
            fault,
            latency,
            seq,
        )
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        if let Some(f) = st.flight.get_mut(self.service) {
            f.current = f.current.saturating_sub(1);
        }
        if st.calls_generation != self.generation {
            return;
        }
        if let Some(c) = st.calls.get_mut(self.call_index) {
            if c.end.is_none() {
                c.end = Some(Instant::now());
            }
            if c.status.is_none() {
                c.status = self.status;
            }
        }
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
