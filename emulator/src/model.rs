//! Plain data types shared by the state, the handlers and the public API.

use std::time::Instant;

use serde::Serialize;

/// Every `relationshipStatus` GuardDuty reports for a member.
pub const MEMBER_STATUSES: [&str; 8] = [
    "Created",
    "Invited",
    "Enabled",
    "Disabled",
    "Removed",
    "Resigned",
    "EmailVerificationInProgress",
    "EmailVerificationFailed",
];

/// Whether a member seeded with `status` has been sent an invitation, so that
/// its `invitedAt` is set: `Invited`, `Enabled`, `Disabled`, `Removed` and
/// `Resigned` do; `Created` and the e-mail-verification statuses (the
/// invitation has not gone out yet) do not, nor does any status GuardDuty does
/// not have.
pub(crate) fn status_implies_invitation(status: &str) -> bool {
    matches!(
        status,
        "Invited" | "Enabled" | "Disabled" | "Removed" | "Resigned"
    )
}

/// A GuardDuty member as stored by the emulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub detector_id: String,
    pub account_id: String,
    pub email: String,
    /// One of [`MEMBER_STATUSES`] (or whatever a test seeded).
    pub relationship_status: String,
    /// ISO-8601 time of the last invitation (`None` if never invited).
    pub invited_at: Option<String>,
    pub updated_at: String,
    /// `message` of the last InviteMembers that invited this member.
    pub invited_message: Option<String>,
    /// `disableEmailNotification` of the last InviteMembers that invited this member.
    pub disable_email_notification: Option<bool>,
    /// How many successful InviteMembers named this member.
    pub invite_count: usize,
}

/// The opt-in statuses AWS Account `ListRegions` reports.
pub const REGION_OPT_STATUSES: [&str; 5] = [
    "ENABLED",
    "ENABLED_BY_DEFAULT",
    "DISABLED",
    "ENABLING",
    "DISABLING",
];

/// A fault to inject in place of (or on top of) an operation's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Fault {
    /// GuardDuty: 429 `TooManyRequestsException`; Organizations: 400
    /// `TooManyRequestsException` ([`ORGANIZATIONS_THROTTLE_MESSAGE`](crate::ORGANIZATIONS_THROTTLE_MESSAGE));
    /// Account: 429 `TooManyRequestsException`; STS: 400 `Throttling`
    /// "Rate exceeded".
    Throttle,
    /// GuardDuty: 500 `InternalServerErrorException`; Organizations: 500
    /// `ServiceException`; Account: 500 `InternalServerException`; STS: 500
    /// `InternalFailure`.
    ServerError,
    /// GuardDuty: 403 `AccessDeniedException`; Organizations: 400
    /// `AccessDeniedException`; Account: 403 `AccessDeniedException`; STS:
    /// 403 `AccessDenied` (the "is not authorized to perform" text).
    AccessDenied,
    /// 200 with a body that is not JSON (the operation ran).
    InvalidJson,
    /// Status line + headers with a too-large `Content-Length`, half the body,
    /// then the connection is closed (the operation ran).
    ResetMidResponse,
    /// Never answer; the socket stays open until the emulator stops.
    Hang,
}

impl Fault {
    /// The variant's name, as used by the control plane.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Throttle => "Throttle",
            Fault::ServerError => "ServerError",
            Fault::AccessDenied => "AccessDenied",
            Fault::InvalidJson => "InvalidJson",
            Fault::ResetMidResponse => "ResetMidResponse",
            Fault::Hang => "Hang",
        }
    }

    /// Parses a variant name (as returned by [`Fault::name`]).
    pub fn from_name(s: &str) -> Option<Fault> {
        Some(match s {
            "Throttle" => Fault::Throttle,
            "ServerError" => Fault::ServerError,
            "AccessDenied" => Fault::AccessDenied,
            "InvalidJson" => Fault::InvalidJson,
            "ResetMidResponse" => Fault::ResetMidResponse,
            "Hang" => Fault::Hang,
            _ => return None,
        })
    }
}

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Operation as the SDK spells it (`"InviteMembers"`, `"ListAccounts"`, ...),
    /// or `"Unknown"`.
    pub op: String,
    /// `"guardduty"`, `"organizations"`, `"account"`, `"sts"` or `"unknown"`.
    pub service: String,
    /// Account IDs named in the request (in request order).
    pub accounts: Vec<String>,
    /// Fault applied to this call, if any.
    pub fault: Option<Fault>,
    /// Arrival time.
    pub start: Instant,
    /// When the response was handed over (or the request was abandoned);
    /// `None` while in flight.
    pub end: Option<Instant>,
    /// Whether the request had a SigV4 `Authorization` header.
    pub authorized: bool,
    /// HTTP status answered (`None` while in flight / for hung calls).
    pub status: Option<u16>,
    /// InviteMembers: the request's `disableEmailNotification` (`None` when
    /// it did not say, which GuardDuty treats as `false`: e-mail is sent).
    /// `None` for every other operation.
    pub disable_email_notification: Option<bool>,
    /// The Region of the request's SigV4 credential scope (`us-east-1` when
    /// the request had none).
    pub region: String,
    /// The acting account: the member account whose `ASIA…` credentials
    /// (issued by the emulator's AssumeRole) signed the request, else the
    /// administrator account.
    pub account: String,
    /// The request's `X-Amzn-Trace-Id` header: the SDK passes on the
    /// invocation's X-Ray trace (Lambda's `_X_AMZN_TRACE_ID`) with it.
    pub trace_id: Option<String>,
}

/// A GuardDuty invitation as the invited (member) account sees it in one
/// Region (ListInvitations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    /// The inviting (administrator) account.
    pub account_id: String,
    pub invitation_id: String,
    /// Always `Invited` while pending.
    pub relationship_status: String,
    /// ISO-8601 time the invitation was sent.
    pub invited_at: String,
}
