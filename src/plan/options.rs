//! What the plan is given (its options, each step's phase) and what it gives
//! back at the end (each Region's outcomes): plain data, shared by the
//! handler, the engine and the tests.

use super::session::MemberRole;
use crate::response::Outcome;

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

/// One Region to work in, with its detector if it is given or remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSetup {
    pub name: String,
    pub detector_id: Option<String>,
}

/// Per-invocation settings the plan needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub slots: usize,
    pub dry_run: bool,
    pub message: Option<String>,
    pub disable_email_notification: bool,
    /// False with `ORGANIZATIONS_CHECK=off`: every candidate is outside.
    pub check_organizations: bool,
    /// Organizations page count seen by this warm process, if any.
    pub known_pages: Option<usize>,
    /// The Regions, in the response's order (at least one).
    pub regions: Vec<RegionSetup>,
    /// The multi-Region response: a Region without a usable detector is
    /// `REGION_UNAVAILABLE` rather than an error.
    pub multi_region: bool,
    /// `MEMBER_ROLE_NAME` is set: the member side accepts.
    pub member_role: Option<MemberRole>,
}

/// Member-side calls in flight at once, across every member account and
/// Region, per slot of `MAX_CALLS_IN_FLIGHT`: each member account has its
/// own GuardDuty quotas, so this bounds the function's own concurrency (its
/// connections and memory), not a shared quota.
pub const MEMBER_CALLS_PER_SLOT: usize = 4;

/// One Region's outcomes, at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub region: String,
    pub detector_id: Option<String>,
    /// One per account, in input order.
    pub outcomes: Vec<(String, Outcome)>,
}
