//! The rows of SPEC.md's per-account table that need no AWS call, applied in
//! order: the account ID, the caller's own account, the e-mail; then what
//! the warm process already knows of each account's membership.

use super::call::Membership;
use super::lookup::Found;
use crate::event::{Email, Request};
use crate::response::{FailCode, Outcome};
use crate::validate::{check_account_id, check_email};

/// A per-account decision that needs no AWS call, or the account to work on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Triaged {
    Decided(Outcome),
    /// A valid account, with the e-mail to create it with if one was given.
    Candidate(Option<String>),
}

/// One entry per account of `request`, in its order.
pub fn triage(request: &Request, own_account: Option<&str>) -> Vec<(String, Triaged)> {
    request
        .accounts
        .iter()
        .map(|named| {
            let id = &named.account_id;
            let triaged = if let Err(why) = check_account_id(id) {
                Triaged::Decided(Outcome::failed(
                    FailCode::InvalidAccountId,
                    format!("invalid account ID: must be exactly 12 digits ({why})"),
                ))
            } else if own_account == Some(id.as_str()) {
                Triaged::Decided(Outcome::failed(
                    FailCode::OwnAccount,
                    "this is the administrator's own account: an administrator cannot invite itself",
                ))
            } else {
                match &named.email {
                    Email::NotGiven => Triaged::Candidate(None),
                    Email::Missing => Triaged::Decided(Outcome::failed(
                        FailCode::InvalidEmail,
                        "e-mail missing: each accounts item needs a string email",
                    )),
                    Email::Given(email) => match check_email(email) {
                        Ok(()) => Triaged::Candidate(Some(email.clone())),
                        Err(why) => Triaged::Decided(Outcome::failed(
                            FailCode::InvalidEmail,
                            format!("invalid e-mail: {why}"),
                        )),
                    },
                }
            };
            (id.clone(), triaged)
        })
        .collect()
}

/// The triaged accounts as the plan starts from them, by index in input
/// order.
#[derive(Debug, Default)]
pub struct Sorted {
    pub ids: Vec<String>,
    /// The e-mail to create each account with, if one was given.
    pub emails: Vec<Option<String>>,
    /// Accounts decided without AWS, with their outcome in every Region.
    pub decided: Vec<(usize, Outcome)>,
    /// Accounts whose membership is known already: from the warm cache, or
    /// outside by rule with `ORGANIZATIONS_CHECK=off`.
    pub settled: Vec<Found>,
    /// Accounts to ask Organizations about.
    pub unknown: Vec<usize>,
    /// Accounts GuardDuty may need: every valid one not known to be in the
    /// organization.
    pub candidates: Vec<usize>,
}

/// Sorts [`triage`]'s entries; `known` answers from the warm cache, and is
/// not asked when `check_organizations` is false (every account is then
/// outside).
pub fn sort(
    triaged: Vec<(String, Triaged)>,
    known: impl Fn(&str) -> Option<Membership>,
    check_organizations: bool,
) -> Sorted {
    let mut sorted = Sorted::default();
    for (i, (id, triaged)) in triaged.into_iter().enumerate() {
        match triaged {
            Triaged::Decided(outcome) => {
                sorted.emails.push(None);
                sorted.decided.push((i, outcome));
            }
            Triaged::Candidate(email) => {
                sorted.emails.push(email);
                let membership = if check_organizations {
                    known(&id)
                } else {
                    Some(Membership::NotMember)
                };
                match membership {
                    Some(Membership::Member { org_id }) => {
                        sorted.settled.push(Found::Member(i, org_id))
                    }
                    Some(Membership::NotMember) => {
                        sorted.candidates.push(i);
                        sorted.settled.push(Found::Outside(i))
                    }
                    None => {
                        sorted.candidates.push(i);
                        sorted.unknown.push(i)
                    }
                }
            }
        }
        sorted.ids.push(id);
    }
    sorted
}
