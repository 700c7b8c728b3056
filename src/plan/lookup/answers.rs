//! What each Organizations answer tells the lookup.

use std::collections::HashMap;

use super::machine::{Describe, Found, Listing, Lookup};
use crate::plan::call::{AccountsPage, CallId, Fatal, Membership, OrgError};

impl Lookup {
    /// The answer to `DescribeAccount` call `id`. `changed` says whether
    /// anything was created or invited yet (see [`Lookup::denied`]).
    pub fn on_account(
        &mut self,
        id: CallId,
        answer: Result<Membership, OrgError>,
        ids: &[String],
        changed: bool,
    ) -> Result<Vec<Found>, Fatal> {
        let Some(i) = self.describing.remove(&id) else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        match answer {
            Ok(membership) => {
                self.describe_confirmed = true;
                self.describe[i] = Describe::NotPlanned;
                self.note_described(i, &membership);
                if self.accounts[i].waiting {
                    self.learned.push((ids[i].clone(), membership.clone()));
                    found.push(self.settled(i, membership));
                }
            }
            Err(OrgError::NotInUse) => {
                self.describe_confirmed = true;
                self.describe[i] = Describe::NotPlanned;
                found.extend(self.no_organization());
            }
            Err(OrgError::AccessDenied(message)) => self.denied(message, changed)?,
            Err(OrgError::Other(error)) => self.describe[i] = Describe::Failed(error),
        }
        found.extend(self.settle());
        Ok(found)
    }

    /// The answer to `ListAccounts` call `id`.
    pub fn on_page(
        &mut self,
        id: CallId,
        answer: Result<AccountsPage, OrgError>,
        ids: &[String],
        index: &HashMap<String, usize>,
        changed: bool,
    ) -> Result<Vec<Found>, Fatal> {
        if !matches!(self.listing, Listing::Active { asked: Some(asked), .. } if asked == id) {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        match answer {
            Ok(page) => {
                self.list_confirmed = true;
                self.evidence.pages += 1;
                for (account, org_id) in page.accounts {
                    if let Some(&i) = index.get(&account) {
                        self.note_listed(i);
                        if self.accounts[i].waiting {
                            let membership = Membership::Member {
                                org_id: org_id.clone(),
                            };
                            self.learned.push((account.clone(), membership.clone()));
                            found.push(self.settled(i, membership));
                        }
                    }
                    self.listed.push((account, org_id));
                }
                self.hits_after.push(self.evidence.hits);
                // Organizations can answer an empty page with a token: only
                // a missing token ends the listing.
                match page.next_token {
                    Some(token) => {
                        self.listing = Listing::Active {
                            next_token: Some(token),
                            asked: None,
                        };
                    }
                    None => {
                        self.listing = Listing::Finished;
                        for (account, _) in
                            ids.iter().zip(&self.accounts).filter(|(_, a)| a.waiting)
                        {
                            self.learned.push((account.clone(), Membership::NotMember));
                        }
                        found.extend(self.all_outside());
                    }
                }
            }
            Err(OrgError::NotInUse) => {
                self.list_confirmed = true;
                found.extend(self.no_organization());
            }
            Err(OrgError::AccessDenied(message)) => {
                self.listing = Listing::Failed(format!("AccessDeniedException: {message}"));
                self.denied(message, changed)?;
            }
            Err(OrgError::Other(error)) => self.listing = Listing::Failed(error),
        }
        found.extend(self.settle());
        Ok(found)
    }

    /// A page showed account `i`, for the race's estimate.
    pub(super) fn note_listed(&mut self, i: usize) {
        let account = &mut self.accounts[i];
        if !account.asked || account.listed {
            return;
        }
        account.listed = true;
        self.evidence.hits += 1;
        if account.described_inside {
            self.evidence.described_inside_unlisted -= 1;
        }
    }

    /// A describe answered for account `i`, for the race's estimate.
    pub(super) fn note_described(&mut self, i: usize, membership: &Membership) {
        let account = &mut self.accounts[i];
        match membership {
            Membership::NotMember => self.evidence.described_outside += 1,
            Membership::Member { .. } if !account.listed && !account.described_inside => {
                account.described_inside = true;
                self.evidence.described_inside_unlisted += 1;
            }
            Membership::Member { .. } => {}
        }
    }
}
