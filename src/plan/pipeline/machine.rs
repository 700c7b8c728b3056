//! The pipeline's state and its life: accounts enlisted, admitted, gated,
//! released, sent; what is left at the end.

use std::collections::{HashMap, VecDeque};

use super::step::{Held, Intent, Step};
use crate::plan::call::{Call, CallError, CallId};
use crate::plan::member::Next;
use crate::response::{FailCode, Outcome, SkipCode};

/// GuardDuty's limit of accounts per member call (bench/bound.py reads it here).
pub const BATCH: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Detector {
    Known(String),
    Unknown,
    Looking(CallId),
    Failed(CallError),
    /// No detector, or GuardDuty refuses the account here (multi-Region).
    Unavailable(String),
}

/// What happened to an account in this Region, for the plan to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Where the account ends in this Region.
    Decided(usize, Outcome),
    /// `InviteMembers` accepted it.
    Invited(usize),
    /// Its record says `Invited`: the invitation waits in the member account
    /// (the outcome without a member side is given).
    Pending(usize, Outcome),
    /// About to be written: the member side must first make sure of its
    /// detector, then [`Pipeline::release`] it.
    Gated(usize),
}

/// What the pipeline needs to know of the rest of the plan to send a batch.
#[derive(Clone, Copy)]
pub struct Flow<'a> {
    pub ids: &'a [String],
    pub emails: &'a [Option<String>],
    pub slots: usize,
    /// No account is still waiting for Organizations.
    pub lookups_done: bool,
    /// Changes may be made (see `Lookup::gate_open`).
    pub gate_open: bool,
    /// The pipelines of the Regions before this one, in the response's
    /// order: the invitation e-mail goes out in the first that invites.
    pub earlier: &'a [Pipeline],
}

/// What the invitation says, for every batch.
#[derive(Debug, Clone, Default)]
pub struct InvitationText {
    pub dry_run: bool,
    pub message: Option<String>,
    pub disable_email_notification: bool,
}

/// Where the pipeline works, and how.
#[derive(Debug, Clone)]
pub struct Setup {
    pub region: String,
    /// The detector, if given (event or setting) or remembered.
    pub detector_id: Option<String>,
    /// A multi-Region response: a Region without a usable detector is
    /// `REGION_UNAVAILABLE` instead of failing the invocation.
    pub multi_region: bool,
    /// Writes wait for the member side (a member role, not a dry run).
    pub member_side: bool,
    pub invitation: InvitationText,
}

pub struct Pipeline {
    pub(super) region: String,
    pub(super) multi_region: bool,
    pub(super) member_side: bool,
    pub(super) detector: Detector,
    /// The detector was given or remembered, not looked up now.
    pub(super) given: bool,
    /// Some account outside the organization needs GuardDuty.
    pub(super) needed: bool,
    pub(super) invitation: InvitationText,
    pub(super) held: Vec<Held>,
    pub(super) outside: Vec<bool>,
    pub(super) queues: [VecDeque<usize>; 4],
    pub(super) batches: HashMap<CallId, (Step, Vec<usize>)>,
    /// Batches in flight, per step.
    pub(super) sending: [usize; 4],
    /// Accounts gated on the member side.
    pub(super) gated: usize,
    pub(super) in_flight: usize,
    pub(super) changed: bool,
    pub(super) wrapping_up: bool,
}

impl Pipeline {
    /// A pipeline for the `n` accounts of the plan.
    pub fn new(n: usize, setup: Setup) -> Self {
        Pipeline {
            region: setup.region,
            multi_region: setup.multi_region,
            member_side: setup.member_side,
            given: setup.detector_id.is_some(),
            detector: setup.detector_id.map_or(Detector::Unknown, Detector::Known),
            needed: false,
            invitation: setup.invitation,
            held: vec![Held::No; n],
            outside: vec![false; n],
            queues: Default::default(),
            batches: HashMap::new(),
            sending: [0; 4],
            gated: 0,
            in_flight: 0,
            changed: false,
            wrapping_up: false,
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The detector used, if some account needed GuardDuty and it is known.
    pub fn detector_id(&self) -> Option<&str> {
        match &self.detector {
            Detector::Known(id) if self.needed => Some(id),
            _ => None,
        }
    }

    /// The detector found with `ListDetectors`, for the warm process to keep.
    pub fn discovered_detector(&self) -> Option<&str> {
        match &self.detector {
            Detector::Known(id) if !self.given => Some(id),
            _ => None,
        }
    }

    /// True once a call that changes GuardDuty's state was sent.
    pub fn changed(&self) -> bool {
        self.changed
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Whether this Region invites account `i` in this invocation, as far
    /// as is known now.
    pub fn intent(&self, i: usize) -> Intent {
        self.held[i].intent()
    }

    /// Account `i` may need GuardDuty: its member record is to be read.
    pub fn enlist(&mut self, i: usize) {
        self.enqueue(i, Step::Read);
    }

    /// The lookup found account `i` outside the organization: what its
    /// record says is now acted on.
    pub fn admit(&mut self, i: usize) -> Option<Event> {
        self.needed = true;
        self.outside[i] = true;
        if let Some(outcome) = self.unusable() {
            self.held[i] = Held::No;
            return Some(Event::Decided(i, outcome));
        }
        match std::mem::replace(&mut self.held[i], Held::No) {
            Held::Parked(next) => self.act(i, next),
            held => {
                self.held[i] = held;
                None
            }
        }
    }

    /// The lookup (or the member side) decided account `i` otherwise:
    /// nothing more is done for it here.
    pub fn withdraw(&mut self, i: usize) {
        match self.held[i] {
            Held::Queued(step) => self.queues[step as usize].retain(|&j| j != i),
            Held::Gated(_) => self.gated -= 1,
            // Stays: the other Regions' e-mail rule reads it.
            Held::Invited => return,
            _ => {}
        }
        self.held[i] = Held::No;
    }

    /// The member side is ready for account `i`: its write goes ahead.
    pub fn release(&mut self, i: usize) {
        if let Held::Gated(step) = self.held[i] {
            self.gated -= 1;
            self.enqueue(i, step);
        }
    }

    /// Time is short: batches go out as they are.
    pub fn wrap_up(&mut self) {
        self.wrapping_up = true;
    }

    /// The calls to start now; `next_id` numbers them.
    pub fn next_calls(&mut self, flow: Flow<'_>, next_id: &mut CallId) -> Vec<(CallId, Call)> {
        let mut calls = Vec::new();
        let slots = flow.slots.max(1);
        if self.needed && self.detector == Detector::Unknown {
            if self.in_flight < slots {
                let id = self.start(next_id);
                self.detector = Detector::Looking(id);
                calls.push((
                    id,
                    Call::ListDetectors {
                        region: self.region.clone(),
                    },
                ));
            }
            return calls;
        }
        let Detector::Known(detector_id) = self.detector.clone() else {
            return calls;
        };
        // The step with the most calls still to follow it goes first (reads,
        // then deletes, creates, invitations): an invitation put ahead of a
        // read saves no round, but the read it holds back delays its own
        // invitation past the rest, a round at the end.
        'sending: while self.in_flight < slots {
            for step in Step::ALL {
                if let Some((batch, quiet)) = self.take_batch(step, &flow) {
                    let call = self.call(step, &detector_id, &batch, quiet, &flow);
                    let id = self.start(next_id);
                    for &i in &batch {
                        self.held[i] = Held::Busy(step);
                    }
                    self.sending[step as usize] += 1;
                    self.batches.insert(id, (step, batch));
                    calls.push((id, call));
                    continue 'sending;
                }
            }
            break;
        }
        calls
    }

    /// Why each account still here at the end has no outcome: a change in
    /// flight (outcome unknown), or one never made. Retrying is safe either
    /// way. Accounts not yet known to be outside are the lookup's to report.
    pub fn finish(&self) -> Vec<(usize, Outcome)> {
        (0..self.held.len())
            .filter(|&i| self.outside[i])
            .filter_map(|i| match &self.held[i] {
                Held::Busy(step) if step.changes() => Some((i, Outcome::failed(
                    FailCode::OutcomeUnknown,
                    format!("outcome unknown: its {} call was still in flight when the function had to answer; retrying is safe", step.operation()),
                ))),
                Held::Busy(_) | Held::Queued(_) | Held::Parked(_) | Held::Gated(_) => Some((i, Outcome::failed(
                    FailCode::NotAttempted,
                    "not attempted because the invocation's deadline was near; retrying is safe",
                ))),
                Held::No | Held::Invited => None,
            })
            .collect()
    }

    /// Carries out what an outside account's record said.
    pub(super) fn act(&mut self, i: usize, next: Next) -> Option<Event> {
        self.held[i] = Held::No;
        let step = match next {
            Next::Done(outcome) => {
                let pending = matches!(
                    outcome,
                    Outcome::Skipped {
                        code: SkipCode::InvitationPending,
                        ..
                    }
                );
                return Some(if pending && self.member_side {
                    Event::Pending(i, outcome)
                } else {
                    Event::Decided(i, outcome)
                });
            }
            _ if self.invitation.dry_run => return Some(Event::Decided(i, Outcome::WouldInvite)),
            Next::Recreate => Step::Delete,
            Next::Create => Step::Create,
            Next::Invite => Step::Invite,
        };
        if self.member_side {
            self.held[i] = Held::Gated(step);
            self.gated += 1;
            return Some(Event::Gated(i));
        }
        self.enqueue(i, step);
        None
    }

    pub(super) fn enqueue(&mut self, i: usize, step: Step) {
        self.held[i] = Held::Queued(step);
        self.queues[step as usize].push_back(i);
    }

    pub(super) fn start(&mut self, next_id: &mut CallId) -> CallId {
        let id = *next_id;
        *next_id += 1;
        self.in_flight += 1;
        id
    }

    /// The accounts of batch `id` of `step`, now answered, less those
    /// withdrawn meanwhile. An answer of another kind leaves the batch in
    /// flight: `finish` reports its accounts.
    pub(super) fn finished(&mut self, id: CallId, step: Step) -> Option<Vec<usize>> {
        if self.batches.get(&id).is_none_or(|(s, _)| *s != step) {
            return None;
        }
        let (_, batch) = self.batches.remove(&id)?;
        self.in_flight -= 1;
        self.sending[step as usize] -= 1;
        Some(
            batch
                .into_iter()
                .filter(|&i| self.held[i] == Held::Busy(step))
                .collect(),
        )
    }
}

pub(super) fn call_failed(step: Step, error: &CallError) -> Outcome {
    Outcome::call_failed(
        format!("{} failed: {error}", step.operation()),
        error.retryable,
    )
}
