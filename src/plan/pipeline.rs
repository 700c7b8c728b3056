//! One Region's GuardDuty pipeline: its detector, every candidate's member
//! record, then only the member calls that move an account forward, in
//! batches of [`BATCH`], never more than the slots allow in flight at once.
//!
//! Accounts move forward through four queues: read (`GetMembers`), delete,
//! create, invite. Reads start as soon as the detector is known, side by
//! side with the Organizations lookup; what a record says is acted on only
//! once the lookup says the account is outside the organization (it is
//! *parked* until then). A batch waits to be full while accounts upstream may
//! still join it, so that N accounts take ceil(N/50) calls.

use std::collections::{HashMap, VecDeque};

use super::call::{Call, CallError, CallId, Fatal, MemberRecord, Rejected};
use super::member::{Next, next_step};
use crate::response::{FailCode, Outcome};

/// GuardDuty's limit of accounts per member call (bench/bench.py reads it here).
pub const BATCH: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Detector {
    Known(String),
    Unknown,
    Looking(CallId),
    Failed(CallError),
}

/// A queue an account waits in, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Read,
    Delete,
    Create,
    Invite,
}

impl Step {
    const ALL: [Step; 4] = [Step::Read, Step::Delete, Step::Create, Step::Invite];

    /// Its call changes GuardDuty's state.
    fn changes(self) -> bool {
        self != Step::Read
    }

    fn operation(self) -> &'static str {
        match self {
            Step::Read => "GetMembers",
            Step::Delete => "DeleteMembers",
            Step::Create => "CreateMembers",
            Step::Invite => "InviteMembers",
        }
    }
}

/// What the pipeline holds of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Held {
    /// Not here: never enlisted, decided, or withdrawn.
    No,
    Queued(Step),
    Busy(Step),
    /// Read, waiting for the lookup to say the account is outside.
    Parked(Next),
}

/// What the pipeline needs to know of the rest of the plan to send a batch.
#[derive(Debug, Clone, Copy)]
pub struct Flow<'a> {
    pub ids: &'a [String],
    pub emails: &'a [Option<String>],
    pub slots: usize,
    /// No account is still waiting for Organizations.
    pub lookups_done: bool,
    /// Changes may be made (see `Lookup::gate_open`).
    pub gate_open: bool,
}

/// What the invitation says, for every batch.
#[derive(Debug, Clone, Default)]
pub struct Invitation {
    pub dry_run: bool,
    pub message: Option<String>,
    pub disable_email_notification: bool,
}

pub struct Pipeline {
    detector: Detector,
    /// The detector was given (event or setting), not discovered.
    given: bool,
    /// Some account outside the organization needs GuardDuty.
    needed: bool,
    invitation: Invitation,
    held: Vec<Held>,
    outside: Vec<bool>,
    queues: [VecDeque<usize>; 4],
    batches: HashMap<CallId, (Step, Vec<usize>)>,
    /// Batches in flight, per step.
    sending: [usize; 4],
    in_flight: usize,
    changed: bool,
    wrapping_up: bool,
}

impl Pipeline {
    /// A pipeline for the `n` accounts of the plan.
    pub fn new(n: usize, detector_id: Option<String>, invitation: Invitation) -> Self {
        Pipeline {
            given: detector_id.is_some(),
            detector: detector_id.map_or(Detector::Unknown, Detector::Known),
            needed: false,
            invitation,
            held: vec![Held::No; n],
            outside: vec![false; n],
            queues: Default::default(),
            batches: HashMap::new(),
            sending: [0; 4],
            in_flight: 0,
            changed: false,
            wrapping_up: false,
        }
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

    /// Account `i` may need GuardDuty: its member record is to be read.
    pub fn enlist(&mut self, i: usize) {
        self.held[i] = Held::Queued(Step::Read);
        self.queues[Step::Read as usize].push_back(i);
    }

    /// The lookup found account `i` outside the organization: what its
    /// record says is now acted on. Returns its outcome if that is decided.
    pub fn admit(&mut self, i: usize) -> Option<Outcome> {
        self.needed = true;
        self.outside[i] = true;
        if let Detector::Failed(error) = &self.detector {
            self.held[i] = Held::No;
            return Some(detector_failed(error));
        }
        match std::mem::replace(&mut self.held[i], Held::No) {
            Held::Parked(next) => self.act(i, next),
            held => {
                self.held[i] = held;
                None
            }
        }
    }

    /// The lookup decided account `i` otherwise: nothing more is done for it.
    pub fn withdraw(&mut self, i: usize) {
        if let Held::Queued(step) = self.held[i] {
            self.queues[step as usize].retain(|&j| j != i);
        }
        self.held[i] = Held::No;
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
                calls.push((id, Call::ListDetectors));
            }
            return calls;
        }
        let Detector::Known(detector_id) = self.detector.clone() else {
            return calls;
        };
        'sending: while self.in_flight < slots {
            for step in [Step::Invite, Step::Create, Step::Delete, Step::Read] {
                if let Some(n) = self.ready(step, &flow) {
                    let batch: Vec<usize> = self.queues[step as usize].drain(..n).collect();
                    let call = self.call(step, &detector_id, &batch, &flow);
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

    /// The answer to `ListDetectors` call `id`.
    pub fn on_detectors(
        &mut self,
        id: CallId,
        answer: Result<Option<String>, CallError>,
    ) -> Result<Vec<(usize, Outcome)>, Fatal> {
        if self.detector != Detector::Looking(id) {
            return Ok(Vec::new());
        }
        self.in_flight -= 1;
        match answer {
            Ok(Some(detector_id)) => {
                self.detector = Detector::Known(detector_id);
                Ok(Vec::new())
            }
            Ok(None) => Err(Fatal::DetectorNotFound),
            Err(error) => {
                let outcome = detector_failed(&error);
                self.detector = Detector::Failed(error);
                let mut decided = Vec::new();
                for i in 0..self.held.len() {
                    if self.held[i] != Held::No {
                        self.withdraw(i);
                        if self.outside[i] {
                            decided.push((i, outcome.clone()));
                        }
                    }
                }
                Ok(decided)
            }
        }
    }

    /// The answer to `GetMembers` call `id`: each record decides the
    /// account's next step, acted on once it is known to be outside.
    pub fn on_members(
        &mut self,
        id: CallId,
        answer: Result<Vec<MemberRecord>, CallError>,
        ids: &[String],
        emails: &[Option<String>],
    ) -> Vec<(usize, Outcome)> {
        let Some(batch) = self.finished(id, Step::Read) else {
            return Vec::new();
        };
        let records: HashMap<&str, &MemberRecord> = match &answer {
            Ok(records) => records.iter().map(|r| (r.account_id.as_str(), r)).collect(),
            Err(_) => HashMap::new(),
        };
        let mut decided = Vec::new();
        for i in batch {
            let next = match &answer {
                Ok(_) => next_step(records.get(ids[i].as_str()).copied(), emails[i].as_deref()),
                Err(error) => Next::Done(call_failed(Step::Read, error)),
            };
            if self.outside[i] {
                decided.extend(self.act(i, next).map(|o| (i, o)));
            } else {
                self.held[i] = Held::Parked(next);
            }
        }
        decided
    }

    /// The answer to a `DeleteMembers`, `CreateMembers` or `InviteMembers`
    /// call `id` (`operation` names it). "Already a member" from
    /// `CreateMembers` is not a failure: the account is invited as it is.
    pub fn on_written(
        &mut self,
        id: CallId,
        operation: &str,
        answer: Result<Vec<Rejected>, CallError>,
        ids: &[String],
    ) -> Vec<(usize, Outcome)> {
        let Some(&(step, _)) = self.batches.get(&id) else {
            return Vec::new();
        };
        if step.operation() != operation {
            return Vec::new();
        }
        let Some(batch) = self.finished(id, step) else {
            return Vec::new();
        };
        let rejected = match &answer {
            Ok(rejected) => rejected,
            Err(error) => {
                let outcome = call_failed(step, error);
                return batch.into_iter().map(|i| (i, outcome.clone())).collect();
            }
        };
        let rejected: HashMap<&str, &Rejected> = rejected
            .iter()
            .map(|r| (r.account_id.as_str(), r))
            .collect();
        let mut decided = Vec::new();
        for i in batch {
            match rejected.get(ids[i].as_str()) {
                Some(r) if !(step == Step::Create && r.already_member) => {
                    decided.push((i, Outcome::failed(FailCode::Rejected, r.result.clone())))
                }
                _ => match step {
                    Step::Delete => self.enqueue(i, Step::Create),
                    Step::Create => self.enqueue(i, Step::Invite),
                    _ => decided.push((i, Outcome::Invited)),
                },
            }
        }
        decided
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
                Held::Busy(_) | Held::Queued(_) | Held::Parked(_) => Some((i, Outcome::failed(
                    FailCode::NotAttempted,
                    "not attempted because the invocation's deadline was near; retrying is safe",
                ))),
                Held::No => None,
            })
            .collect()
    }

    /// Carries out what an outside account's record said.
    fn act(&mut self, i: usize, next: Next) -> Option<Outcome> {
        let step = match next {
            Next::Done(outcome) => return Some(outcome),
            _ if self.invitation.dry_run => return Some(Outcome::WouldInvite),
            Next::Recreate => Step::Delete,
            Next::Create => Step::Create,
            Next::Invite => Step::Invite,
        };
        self.enqueue(i, step);
        None
    }

    fn enqueue(&mut self, i: usize, step: Step) {
        self.held[i] = Held::Queued(step);
        self.queues[step as usize].push_back(i);
    }

    /// Nothing more can join `step`'s queue: upstream is empty and idle.
    fn upstream_done(&self, step: Step, flow: &Flow<'_>) -> bool {
        flow.lookups_done
            && Step::ALL
                .iter()
                .take_while(|&&s| s != step)
                .all(|&s| self.queues[s as usize].is_empty() && self.sending[s as usize] == 0)
    }

    /// How many accounts of `step`'s queue to send now: a full batch, or
    /// what is left once no more accounts can join it (or time is short).
    fn ready(&self, step: Step, flow: &Flow<'_>) -> Option<usize> {
        let queue = &self.queues[step as usize];
        let full = queue.len() >= BATCH;
        // Reads have no upstream: every candidate is enlisted at the start.
        let last = step == Step::Read || self.wrapping_up || self.upstream_done(step, flow);
        if queue.is_empty() || !(full || last) {
            return None;
        }
        if step.changes() && !flow.gate_open {
            return None;
        }
        Some(queue.len().min(BATCH))
    }

    fn call(&mut self, step: Step, detector_id: &str, batch: &[usize], flow: &Flow<'_>) -> Call {
        let detector_id = detector_id.to_owned();
        let account_ids = || batch.iter().map(|&i| flow.ids[i].clone()).collect();
        self.changed |= step.changes();
        match step {
            Step::Read => Call::GetMembers {
                detector_id,
                account_ids: account_ids(),
            },
            Step::Delete => Call::DeleteMembers {
                detector_id,
                account_ids: account_ids(),
            },
            Step::Create => Call::CreateMembers {
                detector_id,
                accounts: batch
                    .iter()
                    .map(|&i| {
                        (
                            flow.ids[i].clone(),
                            flow.emails[i].clone().unwrap_or_default(),
                        )
                    })
                    .collect(),
            },
            Step::Invite => Call::InviteMembers {
                detector_id,
                account_ids: account_ids(),
                message: self.invitation.message.clone(),
                disable_email_notification: self.invitation.disable_email_notification,
            },
        }
    }

    fn start(&mut self, next_id: &mut CallId) -> CallId {
        let id = *next_id;
        *next_id += 1;
        self.in_flight += 1;
        id
    }

    /// The accounts of batch `id` of `step`, now answered, less those
    /// withdrawn meanwhile. An answer of another kind leaves the batch in
    /// flight: `finish` reports its accounts.
    fn finished(&mut self, id: CallId, step: Step) -> Option<Vec<usize>> {
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

fn call_failed(step: Step, error: &CallError) -> Outcome {
    Outcome::call_failed(
        format!("{} failed: {error}", step.operation()),
        error.retryable,
    )
}

fn detector_failed(error: &CallError) -> Outcome {
    Outcome::call_failed(
        format!("could not look up the GuardDuty detector: {error}"),
        error.retryable,
    )
}
