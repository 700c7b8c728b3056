//! What the lookup reports of the accounts it could not settle, and the
//! settling common to every answer.

use super::machine::{Describe, Found, Listing, Lookup};
use crate::plan::call::{Fatal, Membership};
use crate::response::{FailCode, Outcome};

impl Lookup {
    /// Why each account still waiting at the end has no answer: its lookup
    /// was in flight, or never attempted. Retrying is safe either way.
    pub fn finish(&self) -> Vec<(usize, Outcome)> {
        let page_in_flight = self.page_in_flight();
        (0..self.accounts.len())
            .filter(|&i| self.accounts[i].waiting)
            .map(|i| {
                let outcome = if page_in_flight || self.describe[i] == Describe::InFlight {
                    Outcome::failed(
                        FailCode::MembershipUnknown,
                        "AWS Organizations membership could not be determined: the lookup was still in flight when the function had to answer; not invited, retrying is safe",
                    )
                } else {
                    Outcome::failed(
                        FailCode::NotAttempted,
                        "AWS Organizations membership could not be determined: not attempted because the invocation's deadline was near; not invited, retrying is safe",
                    )
                };
                (i, outcome)
            })
            .collect()
    }

    pub(super) fn settled(&mut self, i: usize, membership: Membership) -> Found {
        self.accounts[i].waiting = false;
        self.left -= 1;
        match membership {
            Membership::Member { org_id } => Found::Member(i, org_id),
            Membership::NotMember => {
                self.evidence.outside_known = true;
                Found::Outside(i)
            }
        }
    }

    /// Every account still waiting is outside the organization.
    pub(super) fn all_outside(&mut self) -> Vec<Found> {
        self.left = 0;
        let mut found = Vec::new();
        for (i, account) in self.accounts.iter_mut().enumerate() {
            if account.waiting {
                account.waiting = false;
                found.push(Found::Outside(i));
            }
        }
        found
    }

    pub(super) fn no_organization(&mut self) -> Vec<Found> {
        self.no_organization = true;
        self.listing = Listing::Finished;
        self.queue.clear();
        for i in 0..self.accounts.len() {
            if self.accounts[i].waiting {
                self.describe[i] = Describe::NotPlanned;
            }
        }
        self.all_outside()
    }

    /// Before anything is created or invited and before any member role is
    /// assumed, an `AccessDenied` fails the invocation. After, failing it
    /// would hide what was done, so the accounts still unknown are reported
    /// unprocessed instead.
    pub(super) fn denied(&mut self, message: String, changed: bool) -> Result<(), Fatal> {
        if !changed {
            return Err(Fatal::OrganizationsAccessDenied(message));
        }
        let error = format!("AccessDeniedException: {message}");
        self.listing = Listing::Failed(error.clone());
        self.queue.clear();
        for i in 0..self.accounts.len() {
            if self.accounts[i].waiting {
                self.describe[i] = Describe::Failed(error.clone());
            }
        }
        Ok(())
    }

    /// Reports the accounts whose membership can no longer be learned.
    pub(super) fn settle(&mut self) -> Vec<Found> {
        if self.left == 0 {
            return Vec::new();
        }
        let listing_alive = match &self.listing {
            Listing::Active { asked, .. } => asked.is_some() || !self.wrapping_up,
            _ => false,
        };
        if listing_alive {
            return Vec::new();
        }
        let mut found = Vec::new();
        for i in 0..self.accounts.len() {
            if !self.accounts[i].waiting {
                continue;
            }
            let error = match &self.describe[i] {
                Describe::InFlight => continue,
                Describe::Queued if !self.wrapping_up => continue,
                Describe::Failed(error) => error.clone(),
                _ => match &self.listing {
                    Listing::Failed(error) => error.clone(),
                    _ => continue, // reported by `finish`: not attempted
                },
            };
            self.accounts[i].waiting = false;
            self.left -= 1;
            found.push(Found::Unknown(
                i,
                Outcome::failed(
                    FailCode::MembershipUnknown,
                    format!(
                        "AWS Organizations membership could not be determined ({error}); not invited"
                    ),
                ),
            ));
        }
        found
    }
}
