//! The decisions, without the I/O: which account goes where, which AWS call
//! to make next, and what each answer means for the accounts it covered.
//!
//! [`triage`] applies the rows of SPEC.md's per-account table that need no
//! AWS call. [`Plan`] coordinates two machines over the rest, each owning
//! its own state: the Organizations [`Lookup`] (one per invocation) and the
//! GuardDuty [`Pipeline`]. The engine asks the plan for the calls it may
//! start ([`Plan::next_calls`]), feeds it each answer ([`Plan::on_reply`]),
//! and finally takes one [`Outcome`] per account ([`Plan::finish`]). Every
//! account ends in exactly one outcome because only the plan records
//! outcomes, once per account, and [`Plan::finish`] asks each machine about
//! the accounts it still holds.

mod call;
mod lookup;
mod member;
mod pipeline;
mod triage;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use call::{
    AccountsPage, Call, CallError, CallId, Fatal, MemberRecord, MemberStatus, Membership, OrgError,
    Rejected, Reply, Service,
};
pub use lookup::{Found, Learned, Lookup, Strategy, choose_strategy};
pub use member::{Next, next_step};
pub use pipeline::{BATCH, Flow, Invitation, Pipeline};
pub use triage::{Triaged, triage};

use crate::response::{Outcome, SkipCode};

/// How far the invocation is from its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Start whatever is useful.
    Normal,
    /// Start no new Organizations lookup; send partial batches now rather
    /// than wait to fill them.
    WrappingUp,
    /// Start nothing.
    Stopped,
}

/// Per-invocation settings the plan needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub slots: usize,
    pub dry_run: bool,
    pub detector_id: Option<String>,
    pub message: Option<String>,
    pub disable_email_notification: bool,
    /// False with `ORGANIZATIONS_CHECK=off`: every candidate is outside.
    pub check_organizations: bool,
    /// Organizations page count seen by this warm process, if any.
    pub known_pages: Option<usize>,
}

pub struct Plan {
    ids: Vec<String>,
    emails: Vec<Option<String>>,
    index: HashMap<String, usize>,
    outcome: Vec<Option<Outcome>>,
    done: usize,
    slots: usize,
    lookup: Lookup,
    pipeline: Pipeline,
    wrapping_up: bool,
    next_id: CallId,
}

impl Plan {
    /// `known` answers from the warm cache; accounts it knows need no call.
    pub fn new(
        triaged: Vec<(String, Triaged)>,
        known: impl Fn(&str) -> Option<Membership>,
        opts: Options,
    ) -> Plan {
        let n = triaged.len();
        let slots = opts.slots.max(1);
        let mut ids = Vec::with_capacity(n);
        let mut emails = Vec::with_capacity(n);
        let mut decided = Vec::new();
        let mut settled = Vec::new();
        let mut unknown = Vec::new();
        let mut candidates = Vec::new();
        for (i, (id, triaged)) in triaged.into_iter().enumerate() {
            match triaged {
                Triaged::Decided(outcome) => {
                    emails.push(None);
                    decided.push((i, outcome));
                }
                Triaged::Candidate(email) => {
                    emails.push(email);
                    let membership = if opts.check_organizations {
                        known(&id)
                    } else {
                        Some(Membership::NotMember)
                    };
                    match membership {
                        Some(Membership::Member { org_id }) => {
                            settled.push(Found::Member(i, org_id))
                        }
                        Some(Membership::NotMember) => {
                            candidates.push(i);
                            settled.push(Found::Outside(i))
                        }
                        None => {
                            candidates.push(i);
                            unknown.push(i)
                        }
                    }
                }
            }
            ids.push(id);
        }
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let invitation = Invitation {
            dry_run: opts.dry_run,
            message: opts.message,
            disable_email_notification: opts.disable_email_notification,
        };
        let mut plan = Plan {
            ids,
            emails,
            index,
            outcome: vec![None; n],
            done: 0,
            slots,
            lookup: Lookup::new(n, unknown, slots, opts.known_pages),
            pipeline: Pipeline::new(n, opts.detector_id, invitation),
            wrapping_up: false,
            next_id: 0,
        };
        plan.record(decided);
        for i in candidates {
            plan.pipeline.enlist(i);
        }
        plan.found(settled);
        plan
    }

    pub fn strategy(&self) -> Strategy {
        self.lookup.strategy()
    }

    /// True once every account has its outcome.
    pub fn is_done(&self) -> bool {
        self.done == self.ids.len()
    }

    /// The detector used, if some account needed GuardDuty and it is known.
    pub fn detector_id(&self) -> Option<&str> {
        self.pipeline.detector_id()
    }

    /// The detector found with `ListDetectors`, for the warm process to keep.
    pub fn discovered_detector(&self) -> Option<&str> {
        self.pipeline.discovered_detector()
    }

    pub fn learned(&self) -> Learned {
        self.lookup.learned()
    }

    /// The calls to start now, given the phase. Each carries an ID to hand
    /// back with its reply.
    pub fn next_calls(&mut self, phase: Phase) -> Vec<(CallId, Call)> {
        if phase >= Phase::WrappingUp && !self.wrapping_up {
            self.wrapping_up = true;
            let found = self.lookup.wrap_up();
            self.found(found);
            self.pipeline.wrap_up();
        }
        let mut calls = Vec::new();
        if phase == Phase::Stopped {
            return calls;
        }
        while self.lookup.in_flight() < self.slots {
            let Some(call) = self.lookup.next_call(self.next_id, &self.ids) else {
                break;
            };
            calls.push((self.next_id, call));
            self.next_id += 1;
        }
        let flow = Flow {
            ids: &self.ids,
            emails: &self.emails,
            slots: self.slots,
            lookups_done: self.lookup.left() == 0,
            gate_open: self.lookup.gate_open(),
        };
        calls.extend(self.pipeline.next_calls(flow, &mut self.next_id));
        calls
    }

    /// Applies the answer to call `id`. An answer for an unknown call, or of
    /// another kind than the call asked, is ignored: the call's accounts stay
    /// where they are, and [`Plan::finish`] reports them.
    pub fn on_reply(&mut self, id: CallId, reply: Reply) -> Result<(), Fatal> {
        let changed = self.pipeline.changed();
        match reply {
            Reply::Account(answer) => {
                let found = self.lookup.on_account(id, answer, &self.ids, changed)?;
                self.found(found);
            }
            Reply::AccountsPage(answer) => {
                let found = self
                    .lookup
                    .on_page(id, answer, &self.ids, &self.index, changed)?;
                self.found(found);
            }
            Reply::Detectors(answer) => {
                let decided = self.pipeline.on_detectors(id, answer)?;
                self.record(decided);
            }
            Reply::Members(answer) => {
                let decided = self
                    .pipeline
                    .on_members(id, answer, &self.ids, &self.emails);
                self.record(decided);
            }
            Reply::Deleted(answer) => self.written(id, "DeleteMembers", answer),
            Reply::Created(answer) => self.written(id, "CreateMembers", answer),
            Reply::Invited(answer) => self.written(id, "InviteMembers", answer),
        }
        Ok(())
    }

    /// One outcome per account, in input order. Accounts still waiting are
    /// reported as not attempted, or of unknown outcome if their call is in
    /// flight; retrying them is safe either way.
    pub fn finish(mut self) -> Vec<(String, Outcome)> {
        let waiting = self
            .lookup
            .finish()
            .into_iter()
            .chain(self.pipeline.finish());
        let waiting: Vec<(usize, Outcome)> = waiting.collect();
        self.record(waiting);
        self.ids
            .into_iter()
            .zip(self.outcome)
            .map(|(id, outcome)| {
                let outcome = outcome.unwrap_or_else(|| {
                    Outcome::failed(
                        crate::response::FailCode::OutcomeUnknown,
                        "outcome unknown; retrying is safe",
                    )
                });
                (id, outcome)
            })
            .collect()
    }

    fn written(&mut self, id: CallId, operation: &str, answer: Result<Vec<Rejected>, CallError>) {
        let decided = self.pipeline.on_written(id, operation, answer, &self.ids);
        self.record(decided);
    }

    /// Routes what the lookup settled: members are skipped, the others go on
    /// to GuardDuty, the unknown are never invited.
    fn found(&mut self, found: Vec<Found>) {
        for found in found {
            let decided = match found {
                Found::Member(i, org_id) => {
                    self.pipeline.withdraw(i);
                    let reason = match org_id {
                        Some(org) => format!("managed by AWS Organizations ({org})"),
                        None => "managed by AWS Organizations".to_owned(),
                    };
                    Some((i, Outcome::skipped(SkipCode::OrganizationMember, reason)))
                }
                Found::Outside(i) => self.pipeline.admit(i).map(|o| (i, o)),
                Found::Unknown(i, outcome) => {
                    self.pipeline.withdraw(i);
                    Some((i, outcome))
                }
            };
            self.record(decided);
        }
    }

    /// The first outcome recorded for an account is its last.
    fn record(&mut self, decided: impl IntoIterator<Item = (usize, Outcome)>) {
        for (i, outcome) in decided {
            if self.outcome[i].is_none() {
                self.outcome[i] = Some(outcome);
                self.done += 1;
            }
        }
    }
}
