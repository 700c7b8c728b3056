//! The vocabulary the plan shares with the AWS side of the seam: the calls it
//! asks for and the answers it gets back, already reduced to what the plan
//! decides on. Every answer is typed, so no decision depends on matching an
//! error message in the plan.

use std::fmt;

pub use aws_sdk_guardduty::config::Credentials;

/// Names a call in flight, so that its answer finds its way back.
pub type CallId = u64;

/// A problem that fails the whole invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fatal {
    OrganizationsAccessDenied(String),
    DetectorNotFound,
}

/// An AWS call the plan wants made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    DescribeAccount {
        account_id: String,
    },
    ListAccounts {
        next_token: Option<String>,
    },
    /// The administrator's detector in `region`.
    ListDetectors {
        region: String,
    },
    GetMembers {
        region: String,
        detector_id: String,
        account_ids: Vec<String>,
    },
    DeleteMembers {
        region: String,
        detector_id: String,
        account_ids: Vec<String>,
    },
    CreateMembers {
        region: String,
        detector_id: String,
        /// (account ID, e-mail)
        accounts: Vec<(String, String)>,
    },
    InviteMembers {
        region: String,
        detector_id: String,
        account_ids: Vec<String>,
        message: Option<String>,
        disable_email_notification: bool,
    },
    /// Every Region enabled for the account (AWS Account, all pages).
    ListRegions,
    /// The account whose credentials the function runs with (STS; needs no
    /// permission).
    CallerIdentity,
    /// Credentials for a role in a member account (STS, as the administrator).
    AssumeRole {
        role_arn: String,
        external_id: Option<String>,
    },
    /// The member's own detector in `region`, with the member's credentials.
    MemberDetectors {
        region: String,
        member: MemberSession,
    },
    CreateDetector {
        region: String,
        member: MemberSession,
    },
    ListInvitations {
        region: String,
        member: MemberSession,
    },
    AcceptInvitation {
        region: String,
        member: MemberSession,
        detector_id: String,
        administrator_id: String,
        invitation_id: String,
    },
}

impl Call {
    pub fn service(&self) -> Service {
        match self {
            Call::DescribeAccount { .. } | Call::ListAccounts { .. } => Service::Organizations,
            Call::AssumeRole { .. } | Call::CallerIdentity => Service::Sts,
            Call::ListRegions => Service::Account,
            Call::MemberDetectors { .. }
            | Call::CreateDetector { .. }
            | Call::ListInvitations { .. }
            | Call::AcceptInvitation { .. } => Service::MemberGuardDuty,
            _ => Service::GuardDuty,
        }
    }

    /// The Region a regional call is made in; `None` for the global services.
    pub fn region(&self) -> Option<&str> {
        match self {
            Call::DescribeAccount { .. }
            | Call::ListAccounts { .. }
            | Call::ListRegions
            | Call::CallerIdentity
            | Call::AssumeRole { .. } => None,
            Call::ListDetectors { region }
            | Call::GetMembers { region, .. }
            | Call::DeleteMembers { region, .. }
            | Call::CreateMembers { region, .. }
            | Call::InviteMembers { region, .. }
            | Call::MemberDetectors { region, .. }
            | Call::CreateDetector { region, .. }
            | Call::ListInvitations { region, .. }
            | Call::AcceptInvitation { region, .. } => Some(region),
        }
    }

    /// The operation name, as AWS spells it.
    pub fn operation(&self) -> &'static str {
        match self {
            Call::DescribeAccount { .. } => "DescribeAccount",
            Call::ListAccounts { .. } => "ListAccounts",
            Call::ListDetectors { .. } | Call::MemberDetectors { .. } => "ListDetectors",
            Call::GetMembers { .. } => "GetMembers",
            Call::DeleteMembers { .. } => "DeleteMembers",
            Call::CreateMembers { .. } => "CreateMembers",
            Call::InviteMembers { .. } => "InviteMembers",
            Call::ListRegions => "ListRegions",
            Call::CallerIdentity => "GetCallerIdentity",
            Call::AssumeRole { .. } => "AssumeRole",
            Call::CreateDetector { .. } => "CreateDetector",
            Call::ListInvitations { .. } => "ListInvitations",
            Call::AcceptInvitation { .. } => "AcceptAdministratorInvitation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Organizations,
    GuardDuty,
    Sts,
    Account,
    /// GuardDuty, called in a member account with its role's credentials.
    MemberGuardDuty,
}

/// A member account and the credentials its role gave. The SDK's
/// `Credentials` never print their secret (`Debug` redacts it), so calls can
/// be logged and compared as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSession {
    pub account_id: String,
    pub credentials: Credentials,
}

/// The answer to a [`Call`], reduced to what the plan needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Account(Result<Membership, OrgError>),
    AccountsPage(Result<AccountsPage, OrgError>),
    Detectors(Result<Option<String>, CallError>),
    /// The member records GuardDuty has among the accounts asked.
    Members(Result<Vec<MemberRecord>, CallError>),
    /// The accounts GuardDuty left unprocessed, and why.
    Deleted(Result<Vec<Rejected>, CallError>),
    Created(Result<Vec<Rejected>, CallError>),
    Invited(Result<Vec<Rejected>, CallError>),
    Assumed(Result<Credentials, CallError>),
    /// The detector `CreateDetector` made in the member account.
    DetectorCreated(Result<String, CallError>),
    /// The member account's pending invitations.
    Invitations(Result<Vec<Invitation>, CallError>),
    Accepted(Result<(), CallError>),
    /// The enabled Regions' names.
    Regions(Result<Vec<String>, CallError>),
    /// The caller's account ID.
    Identity(Result<String, CallError>),
}

/// An invitation waiting in a member account, as `ListInvitations` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The account that sent it.
    pub account_id: String,
    pub invitation_id: String,
}

/// What Organizations said of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    Member { org_id: Option<String> },
    NotMember,
}

/// An Organizations failure, sorted by what it means for the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgError {
    /// `AWSOrganizationsNotInUseException`: no account is organization-managed.
    NotInUse,
    AccessDenied(String),
    Other(String),
}

/// One page of `ListAccounts`: (account ID, organization ID) pairs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountsPage {
    pub accounts: Vec<(String, Option<String>)>,
    pub next_token: Option<String>,
}

/// A GuardDuty call that failed as a whole, after the SDK's retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// Caller-safe: the AWS error code and message, or the transport
    /// failure's root cause.
    pub message: String,
    /// Throttling, a 5xx, a time-out or a transport error: the same call may
    /// well succeed later.
    pub retryable: bool,
    /// GuardDuty refuses the account in this Region altogether
    /// (`UnrecognizedClientException`: an opt-in Region not enabled).
    pub region_refused: bool,
}

impl CallError {
    pub fn new(message: impl Into<String>, retryable: bool) -> Self {
        CallError {
            message: message.into(),
            retryable,
            region_refused: false,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// One of GuardDuty's member records, as `GetMembers` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub account_id: String,
    pub status: MemberStatus,
    pub email: Option<String>,
    /// When the account was last invited (GuardDuty's `invitedAt`).
    pub invited_at: Option<String>,
    /// The administrator account the record belongs to (GuardDuty's
    /// `administratorId`): the caller's own account.
    pub administrator_id: Option<String>,
}

/// One account GuardDuty left unprocessed in a call's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub account_id: String,
    /// GuardDuty's own `result`, passed on to the caller.
    pub result: String,
    /// `CreateMembers` only: the account is a member already (a race with
    /// another caller). Not a failure: the account is invited as it is.
    pub already_member: bool,
}

/// GuardDuty's `relationshipStatus` of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberStatus {
    Created,
    Invited,
    Enabled,
    Disabled,
    Removed,
    Resigned,
    EmailVerificationInProgress,
    EmailVerificationFailed,
    /// Any other status, as GuardDuty spells it.
    Other(String),
}

impl MemberStatus {
    pub fn parse(status: &str) -> MemberStatus {
        const KNOWN: [(&str, MemberStatus); 8] = [
            ("Created", MemberStatus::Created),
            ("Invited", MemberStatus::Invited),
            ("Enabled", MemberStatus::Enabled),
            ("Disabled", MemberStatus::Disabled),
            ("Removed", MemberStatus::Removed),
            ("Resigned", MemberStatus::Resigned),
            (
                "EmailVerificationInProgress",
                MemberStatus::EmailVerificationInProgress,
            ),
            (
                "EmailVerificationFailed",
                MemberStatus::EmailVerificationFailed,
            ),
        ];
        KNOWN
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(status))
            .map_or_else(|| MemberStatus::Other(status.to_owned()), |(_, s)| s)
    }
}
