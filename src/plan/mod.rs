//! The decisions, without the I/O: which account goes where, which AWS call
//! to make next, and what each answer means for the accounts it covered.
//!
//! [`triage`] applies the rows of SPEC.md's per-account table that need no
//! AWS call. [`Plan`] coordinates machines over the rest, each owning its
//! own state: the Organizations [`Lookup`] (one per invocation, whatever the
//! number of Regions), one GuardDuty [`Pipeline`] per Region, and, with a
//! member role, the member's credentials ([`Sessions`], one per account) and
//! one member side ([`Accept`]) per Region. The engine asks the plan for the
//! calls it may start ([`Plan::next_calls`]), feeds it each answer
//! ([`Plan::on_reply`]), and finally takes one [`Outcome`] per account and
//! Region ([`Plan::finish_regions`]). Every account ends in exactly one
//! outcome per Region because only the plan records outcomes, once each,
//! and finishing asks each machine about the accounts it still holds.

mod accept;
mod call;
mod lookup;
mod member;
mod options;
mod outcomes;
mod pipeline;
mod session;
mod triage;

#[cfg(test)]
mod accept_tests;
#[cfg(test)]
mod region_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use accept::{Accept, INVITATION_LOOKUPS};
pub use call::{
    AccountsPage, Call, CallError, CallId, Credentials, Fatal, Invitation, MemberRecord,
    MemberSession, MemberStatus, Membership, OrgError, Rejected, Reply, Service,
};
pub use lookup::{Found, Learned, Lookup, Strategy, choose_strategy};
pub use member::{Next, next_step};
pub use options::{Finished, MEMBER_CALLS_PER_SLOT, Options, Phase, RegionSetup};
use outcomes::Outcomes;
pub use pipeline::{BATCH, Event, Flow, Intent, InvitationText, Pipeline, Setup};
pub use session::{Assumed, MemberRole, Sessions};
use triage::{Sorted, sort};
pub use triage::{Triaged, triage};

use crate::response::{Outcome, SkipCode};

/// The machine a call in flight belongs to.
#[derive(Debug, Clone, Copy)]
enum Owner {
    Lookup,
    Sessions,
    Pipeline(usize),
    Accept(usize),
}

pub struct Plan {
    ids: Vec<String>,
    emails: Vec<Option<String>>,
    index: HashMap<String, usize>,
    outcomes: Outcomes,
    slots: usize,
    lookup: Lookup,
    pipelines: Vec<Pipeline>,
    accepts: Vec<Accept>,
    sessions: Option<Sessions>,
    owners: HashMap<CallId, Owner>,
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
        let Sorted {
            ids,
            emails,
            decided,
            settled,
            unknown,
            candidates,
        } = sort(triaged, known, opts.check_organizations);
        let n = ids.len();
        let slots = opts.slots.max(1);
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let invitation = InvitationText {
            dry_run: opts.dry_run,
            message: opts.message,
            disable_email_notification: opts.disable_email_notification,
        };
        let member_side = opts.member_role.is_some() && !opts.dry_run;
        let pipelines: Vec<Pipeline> = opts
            .regions
            .iter()
            .map(|region| {
                let setup = Setup {
                    region: region.name.clone(),
                    detector_id: region.detector_id.clone(),
                    multi_region: opts.multi_region,
                    member_side,
                    invitation: invitation.clone(),
                };
                Pipeline::new(n, setup)
            })
            .collect();
        let accepts = opts
            .regions
            .iter()
            .map(|region| Accept::new(n, region.name.clone()))
            .collect();
        let detector_to_find = opts.regions.iter().any(|r| r.detector_id.is_none());
        let lookup = Lookup::new(&ids, unknown, slots, opts.known_pages).probing(detector_to_find);
        let mut plan = Plan {
            ids,
            emails,
            index,
            outcomes: Outcomes::new(pipelines.len(), n),
            slots,
            lookup,
            pipelines,
            accepts,
            sessions: opts
                .member_role
                .filter(|_| member_side)
                .map(|role| Sessions::new(n, role)),
            owners: HashMap::new(),
            wrapping_up: false,
            next_id: 0,
        };
        for (i, outcome) in decided {
            plan.outcomes.record_all(i, outcome);
        }
        for i in candidates {
            for pipeline in &mut plan.pipelines {
                pipeline.enlist(i);
            }
        }
        plan.found(settled);
        plan
    }

    pub fn strategy(&self) -> Strategy {
        self.lookup.strategy()
    }

    /// True once every account has its outcome in every Region.
    pub fn is_done(&self) -> bool {
        self.outcomes.is_complete()
    }

    /// The first Region's detector, if some account needed GuardDuty and it
    /// is known (the single-Region response's `detectorId`).
    pub fn detector_id(&self) -> Option<&str> {
        self.pipelines.first().and_then(Pipeline::detector_id)
    }

    /// The first Region's detector found with `ListDetectors`.
    pub fn discovered_detector(&self) -> Option<&str> {
        self.pipelines
            .first()
            .and_then(Pipeline::discovered_detector)
    }

    /// Each Region's detector found with `ListDetectors`, for the warm
    /// process to keep.
    pub fn discovered_detectors(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pipelines
            .iter()
            .filter_map(|p| Some((p.region(), p.discovered_detector()?)))
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
            for pipeline in &mut self.pipelines {
                pipeline.wrap_up();
            }
        }
        let mut calls = Vec::new();
        if phase == Phase::Stopped {
            return calls;
        }
        while self.lookup.in_flight() < self.slots {
            let Some(call) = self.lookup.next_call(self.next_id, &self.ids) else {
                break;
            };
            calls.push(self.own(Owner::Lookup, call));
        }
        let gate_open = self.lookup.gate_open();
        if let Some(sessions) = self.sessions.as_mut().filter(|_| gate_open) {
            while sessions.in_flight() < self.slots {
                let Some(call) = sessions.next_call(self.next_id, &self.ids) else {
                    break;
                };
                self.owners.insert(self.next_id, Owner::Sessions);
                calls.push((self.next_id, call));
                self.next_id += 1;
            }
        }
        let lookups_done = self.lookup.left() == 0;
        for r in 0..self.pipelines.len() {
            let (earlier, rest) = self.pipelines.split_at_mut(r);
            let flow = Flow {
                ids: &self.ids,
                emails: &self.emails,
                slots: self.slots,
                lookups_done,
                gate_open,
                earlier,
            };
            for (id, call) in rest[0].next_calls(flow, &mut self.next_id) {
                self.owners.insert(id, Owner::Pipeline(r));
                calls.push((id, call));
            }
        }
        if let Some(sessions) = self.sessions.as_ref().filter(|_| gate_open) {
            let busy: usize = self.accepts.iter().map(Accept::in_flight).sum();
            let mut room = (self.slots * MEMBER_CALLS_PER_SLOT).saturating_sub(busy);
            for (r, accept) in self.accepts.iter_mut().enumerate() {
                let flow = accept::Flow {
                    ids: &self.ids,
                    sessions,
                    room,
                };
                for (id, call) in accept.next_calls(flow, &mut self.next_id) {
                    self.owners.insert(id, Owner::Accept(r));
                    calls.push((id, call));
                    room -= 1;
                }
            }
        }
        calls
    }

    /// Applies the answer to call `id`. An answer for an unknown call, or of
    /// another kind than the call asked, is ignored: the call's accounts stay
    /// where they are, and finishing reports them.
    pub fn on_reply(&mut self, id: CallId, reply: Reply) -> Result<(), Fatal> {
        let Some(owner) = self.owners.remove(&id) else {
            return Ok(());
        };
        let changed = self.pipelines.iter().any(Pipeline::changed)
            || self.sessions.as_ref().is_some_and(Sessions::started);
        match (owner, reply) {
            (Owner::Lookup, Reply::Account(answer)) => {
                let found = self.lookup.on_account(id, answer, &self.ids, changed)?;
                self.found(found);
            }
            (Owner::Lookup, Reply::AccountsPage(answer)) => {
                let found = self
                    .lookup
                    .on_page(id, answer, &self.ids, &self.index, changed)?;
                self.found(found);
            }
            (Owner::Sessions, Reply::Assumed(answer)) => {
                let assumed = self
                    .sessions
                    .as_mut()
                    .and_then(|s| s.on_assumed(id, answer, &self.ids));
                if let Some(assumed) = assumed {
                    for r in 0..self.accepts.len() {
                        let events = self.accepts[r].on_session(&assumed);
                        self.accept_events(r, events);
                    }
                }
            }
            (Owner::Pipeline(r), reply) => {
                if let (Reply::Members(Ok(records)), Some(sessions)) = (&reply, &mut self.sessions)
                {
                    sessions.learn_administrator(records);
                }
                let pipeline = &mut self.pipelines[r];
                let events = match reply {
                    Reply::Detectors(answer) => pipeline.on_detectors(id, answer)?,
                    Reply::Members(answer) => {
                        pipeline.on_members(id, answer, &self.ids, &self.emails)
                    }
                    Reply::Deleted(answer) => {
                        pipeline.on_written(id, "DeleteMembers", answer, &self.ids)
                    }
                    Reply::Created(answer) => {
                        pipeline.on_written(id, "CreateMembers", answer, &self.ids)
                    }
                    Reply::Invited(answer) => {
                        pipeline.on_written(id, "InviteMembers", answer, &self.ids)
                    }
                    _ => Vec::new(),
                };
                self.pipeline_events(r, events);
            }
            (Owner::Accept(r), reply) => {
                let Some(sessions) = &self.sessions else {
                    return Ok(());
                };
                let accept = &mut self.accepts[r];
                let events = match reply {
                    Reply::Detectors(answer) => accept.on_detectors(id, answer, sessions),
                    Reply::DetectorCreated(answer) => accept.on_created(id, answer),
                    Reply::Invitations(answer) => accept.on_invitations(id, answer, sessions),
                    Reply::Accepted(answer) => accept.on_accepted(id, answer),
                    _ => Vec::new(),
                };
                self.accept_events(r, events);
            }
            _ => {}
        }
        Ok(())
    }

    /// One outcome per account, in input order, of the first Region: the
    /// single-Region form of [`Plan::finish_regions`].
    pub fn finish(self) -> Vec<(String, Outcome)> {
        self.finish_regions()
            .into_iter()
            .next()
            .map(|finished| finished.outcomes)
            .unwrap_or_default()
    }

    /// One outcome per account and Region, in input and Region order.
    /// Accounts still waiting are reported as not attempted, or of unknown
    /// outcome if their call is in flight; retrying them is safe either way.
    pub fn finish_regions(mut self) -> Vec<Finished> {
        for (i, outcome) in self.lookup.finish() {
            self.outcomes.record_all(i, outcome);
        }
        for r in 0..self.pipelines.len() {
            let waiting = self.pipelines[r].finish();
            let accepting = self.accepts[r].finish();
            for (i, outcome) in waiting.into_iter().chain(accepting) {
                self.outcomes.record(r, i, outcome);
            }
        }
        let Plan {
            ids,
            outcomes,
            pipelines,
            ..
        } = self;
        pipelines
            .iter()
            .zip(outcomes.into_rows())
            .map(|(pipeline, outcomes)| Finished {
                region: pipeline.region().to_owned(),
                detector_id: pipeline.detector_id().map(str::to_owned),
                outcomes: ids.iter().cloned().zip(outcomes).collect(),
            })
            .collect()
    }

    fn own(&mut self, owner: Owner, call: Call) -> (CallId, Call) {
        let id = self.next_id;
        self.next_id += 1;
        self.owners.insert(id, owner);
        (id, call)
    }

    /// Routes what the lookup settled: members are skipped, the others go on
    /// to GuardDuty in every Region, the unknown are never invited.
    fn found(&mut self, found: Vec<Found>) {
        for found in found {
            match found {
                Found::Member(i, org_id) => {
                    for pipeline in &mut self.pipelines {
                        pipeline.withdraw(i);
                    }
                    let reason = match org_id {
                        Some(org) => format!("managed by AWS Organizations ({org})"),
                        None => "managed by AWS Organizations".to_owned(),
                    };
                    self.outcomes
                        .record_all(i, Outcome::skipped(SkipCode::OrganizationMember, reason));
                }
                Found::Outside(i) => {
                    for r in 0..self.pipelines.len() {
                        let events = self.pipelines[r].admit(i);
                        self.pipeline_events(r, events);
                    }
                }
                Found::Unknown(i, outcome) => {
                    for pipeline in &mut self.pipelines {
                        pipeline.withdraw(i);
                    }
                    self.outcomes.record_all(i, outcome);
                }
            }
        }
    }

    /// Acts on what Region `r`'s pipeline did: without a member side an
    /// invited or pending account ends there; with one, the member side
    /// takes it on.
    fn pipeline_events(&mut self, r: usize, events: impl IntoIterator<Item = Event>) {
        for event in events {
            let Some(sessions) = self.sessions.as_mut() else {
                match event {
                    Event::Decided(i, outcome) | Event::Pending(i, outcome) => {
                        self.outcomes.record(r, i, outcome)
                    }
                    Event::Invited(i) => self.outcomes.record(r, i, Outcome::Invited),
                    Event::Gated(i) => self.pipelines[r].release(i),
                }
                continue;
            };
            let accept = &mut self.accepts[r];
            let events = match event {
                Event::Decided(i, outcome) => {
                    accept.forget(i);
                    self.outcomes.record(r, i, outcome);
                    continue;
                }
                Event::Invited(i) => accept.after_invite(i, sessions),
                Event::Pending(i, pending) => accept.accept_only(i, pending, sessions),
                Event::Gated(i) => accept.prepare(i, sessions),
            };
            self.accept_events(r, events);
        }
    }

    fn accept_events(&mut self, r: usize, events: Vec<accept::Event>) {
        for event in events {
            match event {
                accept::Event::Release(i) => self.pipelines[r].release(i),
                accept::Event::Decided(i, outcome) => {
                    self.pipelines[r].withdraw(i);
                    self.outcomes.record(r, i, outcome);
                }
            }
        }
    }
}
