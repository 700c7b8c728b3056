//! What the pipeline makes of GuardDuty's answers: the detector, the member
//! records, the writes; and a Region that turns out unusable.

use std::collections::HashMap;

use super::machine::{Detector, Event, Pipeline, call_failed};
use super::step::{Held, Step};
use crate::plan::call::{CallError, CallId, Fatal, MemberRecord, Rejected};
use crate::plan::member::{Next, next_step};
use crate::response::{FailCode, Outcome};

impl Pipeline {
    /// The answer to `ListDetectors` call `id`.
    pub fn on_detectors(
        &mut self,
        id: CallId,
        answer: Result<Option<String>, CallError>,
    ) -> Result<Vec<Event>, Fatal> {
        if self.detector != Detector::Looking(id) {
            return Ok(Vec::new());
        }
        self.in_flight -= 1;
        match answer {
            Ok(Some(detector_id)) => {
                self.detector = Detector::Known(detector_id);
                Ok(Vec::new())
            }
            Ok(None) if self.multi_region => Ok(self.unavailable(format!(
                "GuardDuty has no detector in {} for the administrator account: enable GuardDuty there, or leave the Region out",
                self.region
            ))),
            Ok(None) => Err(Fatal::DetectorNotFound),
            Err(error) => {
                if let Some(events) = self.refused(&error) {
                    return Ok(events);
                }
                self.detector = Detector::Failed(error);
                Ok(self.withdraw_all())
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
    ) -> Vec<Event> {
        let Some(batch) = self.finished(id, Step::Read) else {
            return Vec::new();
        };
        if let Err(error) = &answer
            && let Some(events) = self.refused(error)
        {
            return events;
        }
        let records: HashMap<&str, &MemberRecord> = match &answer {
            Ok(records) => records.iter().map(|r| (r.account_id.as_str(), r)).collect(),
            Err(_) => HashMap::new(),
        };
        let mut events = Vec::new();
        for i in batch {
            let next = match &answer {
                Ok(_) => next_step(records.get(ids[i].as_str()).copied(), emails[i].as_deref()),
                Err(error) => Next::Done(call_failed(Step::Read, error)),
            };
            if self.outside[i] {
                events.extend(self.act(i, next));
            } else {
                self.held[i] = Held::Parked(next);
            }
        }
        events
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
    ) -> Vec<Event> {
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
                if let Some(events) = self.refused(error) {
                    return events;
                }
                let outcome = call_failed(step, error);
                return batch
                    .into_iter()
                    .map(|i| {
                        self.held[i] = Held::No;
                        Event::Decided(i, outcome.clone())
                    })
                    .collect();
            }
        };
        let rejected: HashMap<&str, &Rejected> = rejected
            .iter()
            .map(|r| (r.account_id.as_str(), r))
            .collect();
        let mut events = Vec::new();
        for i in batch {
            match rejected.get(ids[i].as_str()) {
                Some(r) if !(step == Step::Create && r.already_member) => {
                    self.held[i] = Held::No;
                    events.push(Event::Decided(
                        i,
                        Outcome::failed(FailCode::Rejected, r.result.clone()),
                    ))
                }
                _ => match step {
                    Step::Delete => self.enqueue(i, Step::Create),
                    Step::Create => self.enqueue(i, Step::Invite),
                    _ => {
                        self.held[i] = Held::Invited;
                        events.push(Event::Invited(i))
                    }
                },
            }
        }
        events
    }

    /// In a multi-Region response, an answer that says GuardDuty refuses
    /// the account in this Region makes the whole Region unavailable.
    pub(super) fn refused(&mut self, error: &CallError) -> Option<Vec<Event>> {
        (self.multi_region && error.region_refused).then(|| {
            self.unavailable(format!(
                "GuardDuty refuses the administrator account in {} ({error}): an opt-in Region that is not enabled?",
                self.region
            ))
        })
    }

    pub(super) fn unavailable(&mut self, reason: String) -> Vec<Event> {
        self.detector = Detector::Unavailable(reason);
        self.withdraw_all()
    }

    /// The detector is unusable: every account still here ends now, the
    /// outside ones with the detector's outcome (the others when admitted).
    pub(super) fn withdraw_all(&mut self) -> Vec<Event> {
        let outcome = self.unusable();
        let mut events = Vec::new();
        for i in 0..self.held.len() {
            if matches!(self.held[i], Held::No | Held::Invited) {
                continue;
            }
            self.withdraw(i);
            if self.outside[i]
                && let Some(outcome) = &outcome
            {
                events.push(Event::Decided(i, outcome.clone()));
            }
        }
        events
    }

    /// The outcome every account gets here once the detector is unusable.
    pub(super) fn unusable(&self) -> Option<Outcome> {
        match &self.detector {
            Detector::Failed(error) => Some(Outcome::call_failed(
                format!("could not look up the GuardDuty detector: {error}"),
                error.retryable,
            )),
            Detector::Unavailable(reason) => {
                Some(Outcome::failed(FailCode::RegionUnavailable, reason.clone()))
            }
            _ => None,
        }
    }
}
