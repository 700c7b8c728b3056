//! Credentials for the member side: one `AssumeRole` per member account per
//! invocation, whatever the number of Regions that need it. The
//! administrator makes these calls (STS), so they share its slots.

use std::collections::{HashMap, VecDeque};

use super::call::{Call, CallError, CallId, Credentials, MemberRecord, MemberSession};

/// The member role, as the settings and the function's ARN give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRole {
    /// The partition of the function's own ARN (`aws`, `aws-us-gov`, ...).
    pub partition: String,
    /// `MEMBER_ROLE_NAME`: a name, or a path and a name.
    pub name: String,
    pub external_id: Option<String>,
    /// `ENABLE_MEMBER_DETECTORS`: create the member's detector if it has none.
    pub create_detectors: bool,
    /// The administrator account, whose invitation the member accepts;
    /// `None` when it could not be learned.
    pub administrator: Option<String>,
}

impl MemberRole {
    /// `arn:<partition>:iam::<account>:role/<path and name>`.
    pub fn arn(&self, account_id: &str) -> String {
        let name = self.name.trim_start_matches('/');
        format!("arn:{}:iam::{account_id}:role/{name}", self.partition)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Unwanted,
    Queued,
    Assuming(CallId),
    Ready(Credentials),
    Failed(String),
}

/// What became of an account's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assumed {
    Ready(usize),
    /// The role could not be assumed: why.
    Failed(usize, String),
}

pub struct Sessions {
    role: MemberRole,
    state: Vec<State>,
    queue: VecDeque<usize>,
    assuming: HashMap<CallId, usize>,
}

impl Sessions {
    pub fn new(n: usize, role: MemberRole) -> Self {
        Sessions {
            role,
            state: vec![State::Unwanted; n],
            queue: VecDeque::new(),
            assuming: HashMap::new(),
        }
    }

    pub fn role(&self) -> &MemberRole {
        &self.role
    }

    /// True once some role was asked for: from then on the invocation has
    /// acted in member accounts (and may create detectors there), so, like a
    /// create or an invite, it must not end in an invocation-wide error that
    /// says nothing was done.
    pub fn started(&self) -> bool {
        self.state
            .iter()
            .any(|s| !matches!(s, State::Unwanted | State::Queued))
    }

    /// The administrator's account as a member record names it, when
    /// neither the function's ARN nor STS did.
    pub fn learn_administrator(&mut self, records: &[MemberRecord]) {
        if self.role.administrator.is_none() {
            self.role.administrator = records.iter().find_map(|r| r.administrator_id.clone());
        }
    }

    pub fn in_flight(&self) -> usize {
        self.assuming.len()
    }

    /// Account `i` needs credentials. Says what is known already, if
    /// anything: the role was assumed (or failed) for another Region.
    pub fn want(&mut self, i: usize) -> Option<Assumed> {
        match &self.state[i] {
            State::Unwanted => {
                self.state[i] = State::Queued;
                self.queue.push_back(i);
                None
            }
            State::Queued | State::Assuming(_) => None,
            State::Ready(_) => Some(Assumed::Ready(i)),
            State::Failed(why) => Some(Assumed::Failed(i, why.clone())),
        }
    }

    /// The credentials of account `i`, once its role is assumed.
    pub fn session(&self, i: usize, ids: &[String]) -> Option<MemberSession> {
        match &self.state[i] {
            State::Ready(credentials) => Some(MemberSession {
                account_id: ids[i].clone(),
                credentials: credentials.clone(),
            }),
            _ => None,
        }
    }

    /// The next `AssumeRole` to start, as call `id`.
    pub fn next_call(&mut self, id: CallId, ids: &[String]) -> Option<Call> {
        let i = self.queue.pop_front()?;
        self.state[i] = State::Assuming(id);
        self.assuming.insert(id, i);
        Some(Call::AssumeRole {
            role_arn: self.role.arn(&ids[i]),
            external_id: self.role.external_id.clone(),
        })
    }

    /// The answer to `AssumeRole` call `id`.
    pub fn on_assumed(
        &mut self,
        id: CallId,
        answer: Result<Credentials, CallError>,
        ids: &[String],
    ) -> Option<Assumed> {
        let i = self.assuming.remove(&id)?;
        Some(match answer {
            Ok(credentials) => {
                self.state[i] = State::Ready(credentials);
                Assumed::Ready(i)
            }
            Err(error) => {
                let why = format!("could not assume {} ({error})", self.role.arn(&ids[i]));
                self.state[i] = State::Failed(why.clone());
                Assumed::Failed(i, why)
            }
        })
    }

    /// Time is up: nothing more is started.
    pub fn stop(&mut self) {
        self.queue.clear();
    }
}
