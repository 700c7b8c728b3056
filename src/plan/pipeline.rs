//! One Region's GuardDuty pipeline: its detector, then, for the accounts the
//! lookup found outside the organization, the member calls in batches of
//! [`BATCH`], never more than the slots allow in flight at once.
//!
//! Accounts move through three queues: check (is it a member yet?), create,
//! invite. A batch waits to be full while accounts upstream may still join
//! it, so that N accounts take ceil(N/50) calls.

use std::collections::{HashMap, VecDeque};

use super::call::{Call, CallError, CallId, Fatal, MemberRecord, Rejected};
use crate::response::Outcome;

/// GuardDuty's limit of accounts per member call (bench/bench.py reads it here).
pub const BATCH: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Detector {
    Known(String),
    Unknown,
    Looking(CallId),
    Failed(String),
}

/// A queue an account waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// `GetMembers`: is it a GuardDuty member yet?
    Check,
    /// `CreateMembers`.
    Create,
    /// `InviteMembers`.
    Invite,
}

impl Step {
    /// In pipeline order: accounts only move forward.
    const ALL: [Step; 3] = [Step::Check, Step::Create, Step::Invite];

    /// Its call changes GuardDuty's state.
    fn changes(self) -> bool {
        self != Step::Check
    }
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
    /// Some account needed GuardDuty.
    needed: bool,
    invitation: Invitation,
    queues: [VecDeque<usize>; 3],
    batches: HashMap<CallId, (Step, Vec<usize>)>,
    /// Batches in flight, per step.
    sending: [usize; 3],
    in_flight: usize,
    changed: bool,
    wrapping_up: bool,
}

impl Pipeline {
    pub fn new(detector_id: Option<String>, invitation: Invitation) -> Self {
        Pipeline {
            given: detector_id.is_some(),
            detector: detector_id.map_or(Detector::Unknown, Detector::Known),
            needed: false,
            invitation,
            queues: Default::default(),
            batches: HashMap::new(),
            sending: [0; 3],
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

    /// True once a `CreateMembers` or `InviteMembers` call was sent.
    pub fn changed(&self) -> bool {
        self.changed
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Account `i` is outside the organization: on to GuardDuty. Returns its
    /// outcome if it is already decided.
    pub fn admit(&mut self, i: usize, has_email: bool) -> Option<Outcome> {
        self.needed = true;
        if let Detector::Failed(error) = &self.detector {
            return Some(Outcome::Unprocessed(error.clone()));
        }
        let step = if has_email && !self.invitation.dry_run {
            Step::Check
        } else {
            Step::Invite
        };
        self.queue(step).push_back(i);
        None
    }

    /// Time is short: batches go out as they are.
    pub fn wrap_up(&mut self) -> Vec<(usize, Outcome)> {
        self.wrapping_up = true;
        self.settle()
    }

    /// The calls to start now; `next_id` numbers them. Accounts a dry run
    /// would invite are decided here, into `decided`.
    pub fn next_calls(
        &mut self,
        flow: Flow<'_>,
        next_id: &mut CallId,
        decided: &mut Vec<(usize, Outcome)>,
    ) -> Vec<(CallId, Call)> {
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
        'sending: loop {
            for step in [Step::Invite, Step::Create, Step::Check] {
                let Some(n) = self.ready(step, &flow) else {
                    continue;
                };
                if step == Step::Invite && self.invitation.dry_run {
                    decided.extend(
                        self.queue(step)
                            .drain(..n)
                            .map(|i| (i, Outcome::WouldInvite)),
                    );
                    continue 'sending;
                }
                if self.in_flight >= slots {
                    break 'sending;
                }
                let batch: Vec<usize> = self.queue(step).drain(..n).collect();
                let call = self.call(step, &detector_id, &batch, &flow);
                let id = self.start(next_id);
                self.sending[step as usize] += 1;
                self.batches.insert(id, (step, batch));
                calls.push((id, call));
                continue 'sending;
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
                self.detector =
                    Detector::Failed(format!("could not look up the GuardDuty detector: {error}"));
                Ok(self.settle())
            }
        }
    }

    /// The answer to `GetMembers` call `id`: members go on to be invited,
    /// the others to be created.
    pub fn on_members(
        &mut self,
        id: CallId,
        answer: Result<Vec<MemberRecord>, CallError>,
        ids: &[String],
    ) -> Vec<(usize, Outcome)> {
        let Some(batch) = self.finished(id, Step::Check) else {
            return Vec::new();
        };
        match answer {
            Ok(records) => {
                for i in batch {
                    let member = records.iter().any(|r| r.account_id == ids[i]);
                    let step = if member { Step::Invite } else { Step::Create };
                    self.queue(step).push_back(i);
                }
                self.settle()
            }
            Err(error) => self.fail(&batch, &format!("GetMembers failed: {error}")),
        }
    }

    /// The answer to `CreateMembers` call `id`: "already a member" is not a
    /// failure, the account is invited as it is.
    pub fn on_created(
        &mut self,
        id: CallId,
        answer: Result<Vec<Rejected>, CallError>,
        ids: &[String],
    ) -> Vec<(usize, Outcome)> {
        let Some(batch) = self.finished(id, Step::Create) else {
            return Vec::new();
        };
        match answer {
            Ok(rejected) => {
                let rejected = by_account(&rejected);
                let mut decided = Vec::new();
                for i in batch {
                    match rejected.get(ids[i].as_str()) {
                        Some(r) if !r.already_member => {
                            decided.push((i, Outcome::Unprocessed(r.result.clone())))
                        }
                        _ => self.queue(Step::Invite).push_back(i),
                    }
                }
                decided.extend(self.settle());
                decided
            }
            Err(error) => self.fail(&batch, &format!("CreateMembers failed: {error}")),
        }
    }

    /// The answer to `InviteMembers` call `id`.
    pub fn on_invited(
        &mut self,
        id: CallId,
        answer: Result<Vec<Rejected>, CallError>,
        ids: &[String],
    ) -> Vec<(usize, Outcome)> {
        let Some(batch) = self.finished(id, Step::Invite) else {
            return Vec::new();
        };
        match answer {
            Ok(rejected) => {
                let rejected = by_account(&rejected);
                batch
                    .into_iter()
                    .map(|i| match rejected.get(ids[i].as_str()) {
                        Some(r) => (i, Outcome::Unprocessed(r.result.clone())),
                        None => (i, Outcome::Invited),
                    })
                    .collect()
            }
            Err(error) => self.fail(&batch, &format!("InviteMembers failed: {error}")),
        }
    }

    /// Why each account still here at the end has no outcome: its call was in
    /// flight, or never made. Retrying is safe either way.
    pub fn finish(&self) -> Vec<(usize, &'static str)> {
        let busy = self.batches.values().flat_map(|(_, b)| b).map(|&i| {
            (i, "outcome unknown: its GuardDuty call was still in flight when the function had to answer; retrying is safe")
        });
        let queued = self.queues.iter().flatten().map(|&i| {
            (
                i,
                "not attempted because the invocation's deadline was near; retrying is safe",
            )
        });
        busy.chain(queued).collect()
    }

    fn queue(&mut self, step: Step) -> &mut VecDeque<usize> {
        &mut self.queues[step as usize]
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
        if queue.is_empty() || !(full || self.wrapping_up || self.upstream_done(step, flow)) {
            return None;
        }
        if step.changes() && !self.invitation.dry_run && !flow.gate_open {
            return None;
        }
        Some(queue.len().min(BATCH))
    }

    fn call(&mut self, step: Step, detector_id: &str, batch: &[usize], flow: &Flow<'_>) -> Call {
        let detector_id = detector_id.to_owned();
        let account_ids = || batch.iter().map(|&i| flow.ids[i].clone()).collect();
        match step {
            Step::Check => Call::GetMembers {
                detector_id,
                account_ids: account_ids(),
            },
            Step::Create => {
                self.changed = true;
                let accounts = batch
                    .iter()
                    .map(|&i| {
                        (
                            flow.ids[i].clone(),
                            flow.emails[i].clone().unwrap_or_default(),
                        )
                    })
                    .collect();
                Call::CreateMembers {
                    detector_id,
                    accounts,
                }
            }
            Step::Invite => {
                self.changed = true;
                Call::InviteMembers {
                    detector_id,
                    account_ids: account_ids(),
                    message: self.invitation.message.clone(),
                    disable_email_notification: self.invitation.disable_email_notification,
                }
            }
        }
    }

    fn start(&mut self, next_id: &mut CallId) -> CallId {
        let id = *next_id;
        *next_id += 1;
        self.in_flight += 1;
        id
    }

    /// The accounts of batch `id` of `step`, now answered.
    fn finished(&mut self, id: CallId, step: Step) -> Option<Vec<usize>> {
        // An answer of another kind leaves the batch in flight: `finish`
        // reports its accounts.
        if self.batches.get(&id).is_none_or(|(s, _)| *s != step) {
            return None;
        }
        let (_, batch) = self.batches.remove(&id)?;
        self.in_flight -= 1;
        self.sending[step as usize] -= 1;
        Some(batch)
    }

    fn fail(&mut self, batch: &[usize], error: &str) -> Vec<(usize, Outcome)> {
        let mut decided: Vec<(usize, Outcome)> = batch
            .iter()
            .map(|&i| (i, Outcome::Unprocessed(error.to_owned())))
            .collect();
        decided.extend(self.settle());
        decided
    }

    /// Reports queued accounts that can no longer reach GuardDuty.
    fn settle(&mut self) -> Vec<(usize, Outcome)> {
        let Detector::Failed(error) = &self.detector else {
            return Vec::new();
        };
        let error = error.clone();
        self.queues
            .iter_mut()
            .flat_map(|q| q.drain(..))
            .map(|i| (i, Outcome::Unprocessed(error.clone())))
            .collect()
    }
}

/// GuardDuty's unprocessed accounts, by account ID.
fn by_account(rejected: &[Rejected]) -> HashMap<&str, &Rejected> {
    rejected
        .iter()
        .map(|r| (r.account_id.as_str(), r))
        .collect()
}
