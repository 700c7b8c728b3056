//! The rows of SPEC.md's per-account table that need no AWS call, applied in
//! order: the account ID, the caller's own account, the e-mail.

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
