//! What the pipeline holds of each account: the queue it waits in, the call
//! it is in, or where it stopped; and what that says to the other Regions'
//! pipelines about inviting it (for the one-e-mail rule).

use crate::plan::member::Next;

/// A queue an account waits in, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Read,
    Delete,
    Create,
    Invite,
}

impl Step {
    pub(super) const ALL: [Step; 4] = [Step::Read, Step::Delete, Step::Create, Step::Invite];

    /// Its call changes GuardDuty's state.
    pub(super) fn changes(self) -> bool {
        self != Step::Read
    }

    pub(super) fn operation(self) -> &'static str {
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
pub(super) enum Held {
    /// Not here: never enlisted, decided, or withdrawn.
    No,
    Queued(Step),
    Busy(Step),
    /// Read, waiting for the lookup to say the account is outside.
    Parked(Next),
    /// Its next step is known, but waits until the member side has made
    /// sure of the member's detector.
    Gated(Step),
    /// `InviteMembers` accepted it; the member side may still accept.
    Invited,
}

/// Whether this Region will invite an account in this invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Not known yet: its member record is still to be read.
    Unknown,
    Invite,
    No,
}

impl Held {
    pub(super) fn intent(&self) -> Intent {
        match self {
            Held::Queued(Step::Read) | Held::Busy(Step::Read) => Intent::Unknown,
            Held::Parked(Next::Done(_)) | Held::No => Intent::No,
            Held::Parked(_) | Held::Queued(_) | Held::Busy(_) | Held::Gated(_) | Held::Invited => {
                Intent::Invite
            }
        }
    }
}
