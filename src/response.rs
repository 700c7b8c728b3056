//! The output contract: where each account ended ([`Outcome`]) and the
//! response that lists them, shaped as SPEC.md says.

use serde::Serialize;

/// Where an account ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Invited,
    WouldInvite,
    Skipped(String),
    Unprocessed(String),
}

/// The response, as SPEC.md shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub detector_id: Option<String>,
    pub invited_accounts: Vec<String>,
    pub skipped_accounts: Vec<Skipped>,
    pub unprocessed_accounts: Vec<Unprocessed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_invite_accounts: Option<Vec<String>>,
    pub dry_run: bool,
}

impl Response {
    /// Sorts one outcome per account into the lists, keeping their order.
    pub fn new(
        detector_id: Option<String>,
        dry_run: bool,
        outcomes: Vec<(String, Outcome)>,
    ) -> Response {
        let mut response = Response {
            detector_id,
            invited_accounts: Vec::new(),
            skipped_accounts: Vec::new(),
            unprocessed_accounts: Vec::new(),
            would_invite_accounts: dry_run.then(Vec::new),
            dry_run,
        };
        for (account_id, outcome) in outcomes {
            match outcome {
                Outcome::Invited => response.invited_accounts.push(account_id),
                Outcome::WouldInvite => response
                    .would_invite_accounts
                    .get_or_insert_with(Vec::new)
                    .push(account_id),
                Outcome::Skipped(reason) => response
                    .skipped_accounts
                    .push(Skipped { account_id, reason }),
                Outcome::Unprocessed(result) => response
                    .unprocessed_accounts
                    .push(Unprocessed { account_id, result }),
            }
        }
        response
    }

    /// Every account the response reports, list by list: invited, would
    /// invite, skipped, unprocessed. Each account named in the event appears
    /// exactly once.
    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.invited_accounts
            .iter()
            .chain(self.would_invite_accounts.iter().flatten())
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
    pub reason: String,
}

/// The shape of GuardDuty's own `UnprocessedAccount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unprocessed {
    pub account_id: String,
    pub result: String,
}
