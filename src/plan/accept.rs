//! One Region's member side: with the member role's credentials, make sure
//! the member has a detector before the administrator invites it, then find
//! the administrator's invitation and accept it.
//!
//! Each account goes through its own chain of calls; the chains run side by
//! side, at most as many calls at once as the plan gives room for. Anything
//! that fails on the member's side after the invitation ends the account
//! `ACCEPT_FAILED`, retryable: a later run finds it `Invited` and only
//! accepts.

use std::collections::{HashMap, VecDeque};

use super::call::{Call, CallError, CallId, Invitation};
use super::session::{Assumed, Sessions};
use crate::response::{FailCode, Outcome};

/// `ListInvitations` may not show an invitation made a moment ago; it is
/// asked this many times before the accept is given up for this run.
pub const INVITATION_LOOKUPS: u8 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Goal {
    /// The administrator invites once the member has a detector; then the
    /// member accepts.
    Invite,
    /// Invited already: the member only accepts. Holds the outcome the
    /// account has without the member side (`INVITATION_PENDING`).
    AcceptOnly(Outcome),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Idle,
    /// Waiting for the role's credentials.
    Session(Goal),
    /// The member's detector: to look up, being looked up, to create,
    /// being created.
    FindDetector(Goal),
    Finding(Goal),
    CreateDetector(Goal),
    Creating(Goal),
    /// The member has a detector; the administrator is inviting it.
    Inviting(String),
    /// Invited without the member side, which failed: why.
    InvitingBlind(String),
    /// The invitation, to look for (`attempts` made so far), or being
    /// looked for.
    FindInvitation {
        detector: String,
        attempts: u8,
    },
    Listing {
        detector: String,
        attempts: u8,
    },
    ToAccept {
        detector: String,
        invitation: String,
    },
    Accepting,
    Done,
}

/// What the member side did with an account, for the plan to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The administrator may now write (invite) the account.
    Release(usize),
    /// Where the account ends in this Region.
    Decided(usize, Outcome),
}

/// What the member side needs of the rest of the plan to start calls.
pub struct Flow<'a> {
    pub ids: &'a [String],
    pub sessions: &'a Sessions,
    /// Calls this Region may still start now.
    pub room: usize,
}

pub struct Accept {
    region: String,
    stage: Vec<Stage>,
    /// Accounts whose next call can start (their credentials are ready).
    queue: VecDeque<usize>,
    calls: HashMap<CallId, usize>,
}

impl Accept {
    pub fn new(n: usize, region: String) -> Self {
        Accept {
            region,
            stage: vec![Stage::Idle; n],
            queue: VecDeque::new(),
            calls: HashMap::new(),
        }
    }

    pub fn in_flight(&self) -> usize {
        self.calls.len()
    }

    /// Account `i` is about to be invited: its detector comes first.
    pub fn prepare(&mut self, i: usize, sessions: &mut Sessions) -> Vec<Event> {
        self.begin(i, Goal::Invite, sessions)
    }

    /// Account `i` is invited already: the member only accepts. `pending`
    /// is its outcome without the member side.
    pub fn accept_only(
        &mut self,
        i: usize,
        pending: Outcome,
        sessions: &mut Sessions,
    ) -> Vec<Event> {
        if sessions.role().administrator.is_none() {
            return vec![self.fail(i, &Goal::AcceptOnly(pending), ADMINISTRATOR_UNKNOWN)];
        }
        self.begin(i, Goal::AcceptOnly(pending), sessions)
    }

    /// The administrator's `InviteMembers` accepted account `i`.
    pub fn after_invite(&mut self, i: usize, sessions: &Sessions) -> Vec<Event> {
        match std::mem::replace(&mut self.stage[i], Stage::Done) {
            Stage::Inviting(_) if sessions.role().administrator.is_none() => {
                vec![self.fail(i, &Goal::Invite, ADMINISTRATOR_UNKNOWN)]
            }
            Stage::Inviting(detector) => {
                self.stage[i] = Stage::FindInvitation {
                    detector,
                    attempts: 0,
                };
                self.queue.push_back(i);
                Vec::new()
            }
            Stage::InvitingBlind(why) => vec![self.fail(i, &Goal::Invite, &why)],
            _ => vec![Event::Decided(i, Outcome::Invited)],
        }
    }

    /// What became of account `i`'s credentials.
    pub fn on_session(&mut self, assumed: &Assumed) -> Vec<Event> {
        let (Assumed::Ready(i) | Assumed::Failed(i, _)) = *assumed;
        let Stage::Session(goal) = &self.stage[i] else {
            return Vec::new();
        };
        let goal = goal.clone();
        match assumed {
            Assumed::Ready(_) => {
                self.stage[i] = Stage::FindDetector(goal);
                self.queue.push_back(i);
                Vec::new()
            }
            Assumed::Failed(_, why) => self.blind(i, goal, why.clone()),
        }
    }

    /// Another part of the plan decided account `i`: nothing more here.
    pub fn forget(&mut self, i: usize) {
        self.stage[i] = Stage::Done;
    }

    /// The calls to start now, at most `flow.room`; `next_id` numbers them.
    pub fn next_calls(&mut self, flow: Flow<'_>, next_id: &mut CallId) -> Vec<(CallId, Call)> {
        let mut calls = Vec::new();
        while calls.len() < flow.room {
            let Some(i) = self.queue.pop_front() else {
                break;
            };
            let Some(member) = flow.sessions.session(i, flow.ids) else {
                continue;
            };
            let region = self.region.clone();
            let stage = std::mem::replace(&mut self.stage[i], Stage::Done);
            let (stage, call) = match stage {
                Stage::FindDetector(goal) => (
                    Stage::Finding(goal),
                    Call::MemberDetectors { region, member },
                ),
                Stage::CreateDetector(goal) => (
                    Stage::Creating(goal),
                    Call::CreateDetector { region, member },
                ),
                Stage::FindInvitation { detector, attempts } => (
                    Stage::Listing { detector, attempts },
                    Call::ListInvitations { region, member },
                ),
                Stage::ToAccept {
                    detector,
                    invitation,
                } => (
                    Stage::Accepting,
                    Call::AcceptInvitation {
                        region,
                        member,
                        detector_id: detector,
                        administrator_id: flow
                            .sessions
                            .role()
                            .administrator
                            .clone()
                            .unwrap_or_default(),
                        invitation_id: invitation,
                    },
                ),
                other => {
                    self.stage[i] = other;
                    continue;
                }
            };
            self.stage[i] = stage;
            self.calls.insert(*next_id, i);
            calls.push((*next_id, call));
            *next_id += 1;
        }
        calls
    }

    /// The answer to the member's `ListDetectors` call `id`.
    pub fn on_detectors(
        &mut self,
        id: CallId,
        answer: Result<Option<String>, CallError>,
        sessions: &Sessions,
    ) -> Vec<Event> {
        let Some((i, Stage::Finding(goal))) = self.answered(id) else {
            return Vec::new();
        };
        match answer {
            Ok(Some(detector)) => self.has_detector(i, goal, detector),
            Ok(None) if sessions.role().create_detectors => {
                self.stage[i] = Stage::CreateDetector(goal);
                self.queue.push_back(i);
                Vec::new()
            }
            Ok(None) => {
                let then = match goal {
                    Goal::Invite => "not invited",
                    Goal::AcceptOnly(_) => "the invitation stays pending",
                };
                vec![Event::Decided(
                    i,
                    Outcome::failed(
                        FailCode::MemberDetectorMissing,
                        format!(
                            "the member account has no GuardDuty detector in {}: create one there, or set ENABLE_MEMBER_DETECTORS=true; {then}",
                            self.region
                        ),
                    ),
                )]
            }
            Err(error) => {
                let why = format!("ListDetectors in the member account failed: {error}");
                self.blind(i, goal, why)
            }
        }
    }

    /// The answer to `CreateDetector` call `id`.
    pub fn on_created(&mut self, id: CallId, answer: Result<String, CallError>) -> Vec<Event> {
        let Some((i, Stage::Creating(goal))) = self.answered(id) else {
            return Vec::new();
        };
        match answer {
            Ok(detector) => self.has_detector(i, goal, detector),
            Err(error) => {
                let why = format!("CreateDetector in the member account failed: {error}");
                self.blind(i, goal, why)
            }
        }
    }

    /// The answer to `ListInvitations` call `id`: the invitation from the
    /// administrator, and no other, is the one to accept.
    pub fn on_invitations(
        &mut self,
        id: CallId,
        answer: Result<Vec<Invitation>, CallError>,
        sessions: &Sessions,
    ) -> Vec<Event> {
        let Some((i, Stage::Listing { detector, attempts })) = self.answered(id) else {
            return Vec::new();
        };
        let administrator = sessions.role().administrator.as_deref();
        let invitations = match answer {
            Ok(invitations) => invitations,
            Err(error) => {
                let why = format!("ListInvitations in the member account failed: {error}");
                return vec![self.fail(i, &Goal::Invite, &why)];
            }
        };
        let found = invitations
            .into_iter()
            .find(|inv| Some(inv.account_id.as_str()) == administrator);
        match found {
            Some(invitation) => {
                self.stage[i] = Stage::ToAccept {
                    detector,
                    invitation: invitation.invitation_id,
                };
                self.queue.push_back(i);
                Vec::new()
            }
            None if attempts + 1 < INVITATION_LOOKUPS => {
                self.stage[i] = Stage::FindInvitation {
                    detector,
                    attempts: attempts + 1,
                };
                self.queue.push_back(i);
                Vec::new()
            }
            None => {
                let why = format!(
                    "no invitation from the administrator account {} in the member account yet",
                    administrator.unwrap_or("?")
                );
                vec![self.fail(i, &Goal::Invite, &why)]
            }
        }
    }

    /// The answer to `AcceptAdministratorInvitation` call `id`.
    pub fn on_accepted(&mut self, id: CallId, answer: Result<(), CallError>) -> Vec<Event> {
        let Some((i, Stage::Accepting)) = self.answered(id) else {
            return Vec::new();
        };
        vec![match answer {
            Ok(()) => Event::Decided(i, Outcome::Enabled),
            Err(error) => {
                let why = format!("AcceptAdministratorInvitation failed: {error}");
                self.fail(i, &Goal::Invite, &why)
            }
        }]
    }

    /// Why each account still here at the end was not accepted. Accounts not
    /// invited yet are the pipeline's to report.
    pub fn finish(&self) -> Vec<(usize, Outcome)> {
        let late = "the accept did not finish before the invocation's deadline";
        (0..self.stage.len())
            .filter_map(|i| match &self.stage[i] {
                Stage::Session(goal @ Goal::AcceptOnly(_))
                | Stage::FindDetector(goal @ Goal::AcceptOnly(_))
                | Stage::Finding(goal @ Goal::AcceptOnly(_))
                | Stage::CreateDetector(goal @ Goal::AcceptOnly(_))
                | Stage::Creating(goal @ Goal::AcceptOnly(_)) => {
                    Some((i, failed(goal, late)))
                }
                Stage::FindInvitation { .. } | Stage::Listing { .. } | Stage::ToAccept { .. } => {
                    Some((i, failed(&Goal::Invite, late)))
                }
                Stage::Accepting => Some((i, Outcome::failed(
                    FailCode::OutcomeUnknown,
                    "invited; outcome of the accept unknown: its AcceptAdministratorInvitation call was still in flight when the function had to answer; retrying is safe",
                ))),
                _ => None,
            })
            .collect()
    }

    fn begin(&mut self, i: usize, goal: Goal, sessions: &mut Sessions) -> Vec<Event> {
        self.stage[i] = Stage::Session(goal);
        match sessions.want(i) {
            Some(known) => self.on_session(&known),
            None => Vec::new(),
        }
    }

    /// The account of call `id`, and the stage it was in.
    fn answered(&mut self, id: CallId) -> Option<(usize, Stage)> {
        let i = self.calls.remove(&id)?;
        Some((i, std::mem::replace(&mut self.stage[i], Stage::Done)))
    }

    fn has_detector(&mut self, i: usize, goal: Goal, detector: String) -> Vec<Event> {
        match goal {
            Goal::Invite => {
                self.stage[i] = Stage::Inviting(detector);
                vec![Event::Release(i)]
            }
            Goal::AcceptOnly(_) => {
                self.stage[i] = Stage::FindInvitation {
                    detector,
                    attempts: 0,
                };
                self.queue.push_back(i);
                Vec::new()
            }
        }
    }

    /// The member side failed before the accept: an account to invite is
    /// invited all the same (and ends `ACCEPT_FAILED`); one invited already
    /// ends `ACCEPT_FAILED` now.
    fn blind(&mut self, i: usize, goal: Goal, why: String) -> Vec<Event> {
        match goal {
            Goal::Invite => {
                self.stage[i] = Stage::InvitingBlind(why);
                vec![Event::Release(i)]
            }
            Goal::AcceptOnly(_) => vec![self.fail(i, &goal, &why)],
        }
    }

    fn fail(&mut self, i: usize, goal: &Goal, why: &str) -> Event {
        self.stage[i] = Stage::Done;
        Event::Decided(i, failed(goal, why))
    }
}

const ADMINISTRATOR_UNKNOWN: &str = "the administrator account is not known (the function's ARN names none, STS GetCallerIdentity did not answer, and no member record read named it), so its invitation cannot be told from others";

/// `ACCEPT_FAILED`, saying where the invitation stands and why the accept
/// failed.
fn failed(goal: &Goal, why: &str) -> Outcome {
    let result = match goal {
        Goal::Invite => format!(
            "invited, but not accepted in the member account: {why}; a later run accepts it"
        ),
        Goal::AcceptOnly(pending) => {
            let since = match pending {
                Outcome::Skipped { reason, .. } => reason.as_str(),
                _ => "invited",
            };
            format!(
                "{since}; accepting it in the member account failed: {why}; a later run tries again"
            )
        }
    };
    Outcome::failed(FailCode::AcceptFailed, result)
}
