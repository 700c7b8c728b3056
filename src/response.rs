//! The output contract: where each account ended ([`Outcome`]), with the
//! stable codes callers branch on, and the response that lists them, shaped
//! as the README's contract says.

use serde::Serialize;

/// Why an account was skipped: it needs nothing from this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SkipCode {
    OrganizationMember,
    AlreadyEnabled,
    InvitationPending,
    MonitoringStopped,
    VerificationInProgress,
}

/// Why an account was not processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailCode {
    InvalidAccountId,
    OwnAccount,
    InvalidEmail,
    MembershipUnknown,
    EmailRequired,
    EmailVerificationFailed,
    UnsupportedStatus,
    Rejected,
    CallFailed,
    NotAttempted,
    OutcomeUnknown,
    RegionUnavailable,
    MemberDetectorMissing,
    AcceptFailed,
}

impl FailCode {
    /// Whether retrying can help, for every code but `CALL_FAILED`, whose
    /// answer depends on the failure.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            FailCode::MembershipUnknown
                | FailCode::NotAttempted
                | FailCode::OutcomeUnknown
                | FailCode::AcceptFailed
        )
    }
}

/// Where an account ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Invited,
    WouldInvite,
    /// Invited, and the invitation accepted in the member account.
    Enabled,
    Skipped {
        code: SkipCode,
        reason: String,
    },
    Unprocessed {
        code: FailCode,
        result: String,
        retryable: bool,
    },
}

impl Outcome {
    pub fn skipped(code: SkipCode, reason: impl Into<String>) -> Outcome {
        Outcome::Skipped {
            code,
            reason: reason.into(),
        }
    }

    /// Unprocessed, retryable as `code` says.
    pub fn failed(code: FailCode, result: impl Into<String>) -> Outcome {
        Outcome::Unprocessed {
            code,
            result: result.into(),
            retryable: code.retryable(),
        }
    }

    /// A call that failed as a whole after the SDK's retries.
    pub fn call_failed(result: impl Into<String>, retryable: bool) -> Outcome {
        Outcome::Unprocessed {
            code: FailCode::CallFailed,
            result: result.into(),
            retryable,
        }
    }
}

/// The single-Region response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub detector_id: Option<String>,
    pub invited_accounts: Vec<String>,
    pub skipped_accounts: Vec<Skipped>,
    pub unprocessed_accounts: Vec<Unprocessed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_invite_accounts: Option<Vec<String>>,
    /// Present only when the member side is configured (`MEMBER_ROLE_NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled_accounts: Option<Vec<String>>,
    pub dry_run: bool,
}

impl Response {
    /// Sorts one outcome per account into the lists, keeping their order.
    pub fn new(
        detector_id: Option<String>,
        dry_run: bool,
        outcomes: Vec<(String, Outcome)>,
    ) -> Response {
        Response::with_lists(detector_id, dry_run, false, outcomes)
    }

    /// As [`Response::new`]; `enabled_list`: the response has
    /// `enabledAccounts` (the member side is configured).
    pub fn with_lists(
        detector_id: Option<String>,
        dry_run: bool,
        enabled_list: bool,
        outcomes: Vec<(String, Outcome)>,
    ) -> Response {
        let mut response = Response {
            detector_id,
            invited_accounts: Vec::new(),
            skipped_accounts: Vec::new(),
            unprocessed_accounts: Vec::new(),
            would_invite_accounts: dry_run.then(Vec::new),
            enabled_accounts: enabled_list.then(Vec::new),
            dry_run,
        };
        for (account_id, outcome) in outcomes {
            match outcome {
                Outcome::Invited => response.invited_accounts.push(account_id),
                Outcome::Enabled => response
                    .enabled_accounts
                    .get_or_insert_with(Vec::new)
                    .push(account_id),
                Outcome::WouldInvite => response
                    .would_invite_accounts
                    .get_or_insert_with(Vec::new)
                    .push(account_id),
                Outcome::Skipped { code, reason } => response.skipped_accounts.push(Skipped {
                    account_id,
                    code,
                    reason,
                }),
                Outcome::Unprocessed {
                    code,
                    result,
                    retryable,
                } => response.unprocessed_accounts.push(Unprocessed {
                    account_id,
                    code,
                    result,
                    retryable,
                }),
            }
        }
        response
    }

    /// How many skipped and unprocessed accounts have each code, for the
    /// summary log line.
    pub fn codes(&self) -> std::collections::BTreeMap<String, usize> {
        let skipped = self.skipped_accounts.iter().map(|s| code_name(&s.code));
        let unprocessed = self.unprocessed_accounts.iter().map(|u| code_name(&u.code));
        let mut counts = std::collections::BTreeMap::new();
        for code in skipped.chain(unprocessed) {
            *counts.entry(code).or_insert(0) += 1;
        }
        counts
    }

    /// Every account the response reports, list by list: invited, would
    /// invite, enabled, skipped, unprocessed. Each account named in the event
    /// appears exactly once.
    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.invited_accounts
            .iter()
            .chain(self.would_invite_accounts.iter().flatten())
            .chain(self.enabled_accounts.iter().flatten())
            .map(String::as_str)
            .chain(self.skipped_accounts.iter().map(|s| s.account_id.as_str()))
            .chain(
                self.unprocessed_accounts
                    .iter()
                    .map(|u| u.account_id.as_str()),
            )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub account_id: String,
    pub code: SkipCode,
    pub reason: String,
}

/// The shape of GuardDuty's own `UnprocessedAccount`, with a stable code
/// and whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unprocessed {
    pub account_id: String,
    pub code: FailCode,
    pub result: String,
    pub retryable: bool,
}

/// A code as it is spelled on the wire.
fn code_name(code: &impl Serialize) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// What the function answers: the single-Region response when neither the
/// event nor `REGIONS` names Regions, else one response per Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Single(Response),
    Multi(MultiRegion),
}

impl Answer {
    /// Each Region's response, in the answer's order.
    pub fn responses(&self) -> Vec<&Response> {
        match self {
            Answer::Single(response) => vec![response],
            Answer::Multi(multi) => multi.regions.iter().map(|r| &r.response).collect(),
        }
    }

    /// The single-Region response, if this is one.
    pub fn single(self) -> Option<Response> {
        match self {
            Answer::Single(response) => Some(response),
            Answer::Multi(_) => None,
        }
    }

    /// The multi-Region response, if this is one.
    pub fn multi(self) -> Option<MultiRegion> {
        match self {
            Answer::Single(_) => None,
            Answer::Multi(multi) => Some(multi),
        }
    }
}

/// The multi-Region response: `dryRun`, and one entry per Region in the
/// order given (`"all"`: sorted by name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MultiRegion {
    pub dry_run: bool,
    pub regions: Vec<RegionResponse>,
}

/// One Region of a multi-Region response: its name and the single-Region
/// fields but `dryRun`, which the whole response carries once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionResponse {
    pub region: String,
    pub response: Response,
}

impl Serialize for RegionResponse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct View<'a> {
            region: &'a str,
            detector_id: Option<&'a str>,
            invited_accounts: &'a [String],
            skipped_accounts: &'a [Skipped],
            unprocessed_accounts: &'a [Unprocessed],
            #[serde(skip_serializing_if = "Option::is_none")]
            would_invite_accounts: Option<&'a [String]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            enabled_accounts: Option<&'a [String]>,
        }
        let r = &self.response;
        View {
            region: &self.region,
            detector_id: r.detector_id.as_deref(),
            invited_accounts: &r.invited_accounts,
            skipped_accounts: &r.skipped_accounts,
            unprocessed_accounts: &r.unprocessed_accounts,
            would_invite_accounts: r.would_invite_accounts.as_deref(),
            enabled_accounts: r.enabled_accounts.as_deref(),
        }
        .serialize(serializer)
    }
}
