//! The Organizations lookup: for every account the warm cache did not know,
//! is it a member of the caller's organization? One lookup serves the whole
//! invocation, whatever the number of Regions.
//!
//! Two ways to ask, and the cheaper depends on the organization's size,
//! which a fresh process does not know: one `DescribeAccount` per account,
//! or the sequential `ListAccounts` pages. [`choose_strategy`] picks one, or
//! races both.

use std::collections::{HashMap, VecDeque};

use super::call::{AccountsPage, Call, CallId, Fatal, Membership, OrgError};
use crate::response::{FailCode, Outcome};

/// How membership is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Nothing to look up (`ORGANIZATIONS_CHECK=off`, or all known).
    None,
    /// One `DescribeAccount` per account, all slots.
    Describe,
    /// The sequential `ListAccounts` pages.
    List,
    /// Both: one slot pages through `ListAccounts` while the others describe
    /// accounts; whichever settles every account first wins. Used when the
    /// organization's size is unknown, since it decides which is cheaper.
    Race,
}

/// Picks the cheaper strategy for `unknown` accounts with `slots` calls in
/// flight, knowing the organization's page count if a warm process saw it.
pub fn choose_strategy(unknown: usize, slots: usize, known_pages: Option<usize>) -> Strategy {
    if unknown == 0 {
        return Strategy::None;
    }
    let describe_rounds = unknown.div_ceil(slots);
    match known_pages {
        Some(pages) if pages < describe_rounds => Strategy::List,
        Some(_) => Strategy::Describe,
        // Two rounds of describes cost at most one round more than any listing.
        None if describe_rounds <= 2 => Strategy::Describe,
        None if slots == 1 => Strategy::List,
        None => Strategy::Race,
    }
}

/// What the lookup settled for one account (by its index in the plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Member(usize, Option<String>),
    Outside(usize),
    /// Its membership can no longer be learned: never invited.
    Unknown(usize, Outcome),
}

/// What the invocation learned from Organizations, for the warm cache.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Learned {
    pub accounts: Vec<(String, Membership)>,
    /// The caller's account is in no organization.
    pub no_organization: bool,
    /// Every member of the organization, when all pages were read.
    pub full_listing: Option<Vec<(String, Option<String>)>>,
    /// How many `ListAccounts` pages the organization has, when known.
    pub pages: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Describe {
    NotPlanned,
    Queued,
    InFlight,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Listing {
    NotUsed,
    /// The next page to ask for (`None`: the first), and the call asking
    /// for it, if one is in flight.
    Active {
        next_token: Option<String>,
        asked: Option<CallId>,
    },
    Finished,
    Failed(String),
}

pub struct Lookup {
    strategy: Strategy,
    /// Per account of the plan: still waiting for an answer.
    waiting: Vec<bool>,
    left: usize,
    describe: Vec<Describe>,
    queue: VecDeque<usize>,
    describing: HashMap<CallId, usize>,
    listing: Listing,
    listed: Vec<(String, Option<String>)>,
    pages: usize,
    describe_confirmed: bool,
    list_confirmed: bool,
    no_organization: bool,
    wrapping_up: bool,
    learned: Vec<(String, Membership)>,
}

impl Lookup {
    /// A lookup of `unknown` among `n` accounts.
    pub fn new(n: usize, unknown: Vec<usize>, slots: usize, known_pages: Option<usize>) -> Self {
        let strategy = choose_strategy(unknown.len(), slots, known_pages);
        let mut waiting = vec![false; n];
        let mut describe = vec![Describe::NotPlanned; n];
        let describing = matches!(strategy, Strategy::Describe | Strategy::Race);
        for &i in &unknown {
            waiting[i] = true;
            if describing {
                describe[i] = Describe::Queued;
            }
        }
        let listing = if matches!(strategy, Strategy::List | Strategy::Race) {
            Listing::Active {
                next_token: None,
                asked: None,
            }
        } else {
            Listing::NotUsed
        };
        Lookup {
            strategy,
            left: unknown.len(),
            waiting,
            describe,
            queue: if describing {
                unknown.into()
            } else {
                VecDeque::new()
            },
            describing: HashMap::new(),
            listing,
            listed: Vec::new(),
            pages: 0,
            describe_confirmed: false,
            list_confirmed: false,
            no_organization: false,
            wrapping_up: false,
            learned: Vec::new(),
        }
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Accounts still waiting for Organizations.
    pub fn left(&self) -> usize {
        self.left
    }

    pub fn in_flight(&self) -> usize {
        self.describing.len() + usize::from(self.page_in_flight())
    }

    /// Creating and inviting wait until each kind of Organizations call in
    /// use has answered once without `AccessDenied`, so that a denied lookup
    /// fails the invocation before anything is changed.
    pub fn gate_open(&self) -> bool {
        if self.left == 0 {
            return true;
        }
        let describing = matches!(self.strategy, Strategy::Describe | Strategy::Race);
        let listing = matches!(self.strategy, Strategy::List | Strategy::Race);
        (!describing || self.describe_confirmed) && (!listing || self.list_confirmed)
    }

    pub fn learned(&self) -> Learned {
        let finished = self.listing == Listing::Finished && !self.no_organization;
        Learned {
            accounts: self.learned.clone(),
            no_organization: self.no_organization,
            full_listing: finished.then(|| self.listed.clone()),
            pages: finished.then_some(self.pages),
        }
    }

    /// The next call to start, as call `id`: the next page while the listing
    /// has none in flight, else the next account to describe.
    pub fn next_call(&mut self, id: CallId, ids: &[String]) -> Option<Call> {
        if self.wrapping_up {
            return None;
        }
        if let Listing::Active { next_token, asked } = &mut self.listing
            && asked.is_none()
        {
            *asked = Some(id);
            return Some(Call::ListAccounts {
                next_token: next_token.clone(),
            });
        }
        while let Some(i) = self.queue.pop_front() {
            if self.waiting[i] && self.describe[i] == Describe::Queued {
                self.describe[i] = Describe::InFlight;
                self.describing.insert(id, i);
                return Some(Call::DescribeAccount {
                    account_id: ids[i].clone(),
                });
            }
        }
        None
    }

    /// Time is short: no new lookup; report what can no longer be learned.
    pub fn wrap_up(&mut self) -> Vec<Found> {
        self.wrapping_up = true;
        self.settle()
    }

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
                if self.waiting[i] {
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
                self.pages += 1;
                for (account, org_id) in page.accounts {
                    if let Some(&i) = index.get(&account)
                        && self.waiting[i]
                    {
                        let membership = Membership::Member {
                            org_id: org_id.clone(),
                        };
                        self.learned.push((account.clone(), membership.clone()));
                        found.push(self.settled(i, membership));
                    }
                    self.listed.push((account, org_id));
                }
                // Organizations can answer an empty page with a token: only
                // a missing token ends the listing.
                match page.next_token {
                    Some(token) => {
                        self.listing = Listing::Active {
                            next_token: Some(token),
                            asked: None,
                        }
                    }
                    None => {
                        self.listing = Listing::Finished;
                        for (id, _) in ids.iter().zip(&self.waiting).filter(|(_, w)| **w) {
                            self.learned.push((id.clone(), Membership::NotMember));
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

    /// Why each account still waiting at the end has no answer: its lookup
    /// was in flight, or never attempted. Retrying is safe either way.
    pub fn finish(&self) -> Vec<(usize, Outcome)> {
        let page_in_flight = self.page_in_flight();
        (0..self.waiting.len())
            .filter(|&i| self.waiting[i])
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

    fn page_in_flight(&self) -> bool {
        matches!(self.listing, Listing::Active { asked: Some(_), .. })
    }

    fn settled(&mut self, i: usize, membership: Membership) -> Found {
        self.waiting[i] = false;
        self.left -= 1;
        match membership {
            Membership::Member { org_id } => Found::Member(i, org_id),
            Membership::NotMember => Found::Outside(i),
        }
    }

    /// Every account still waiting is outside the organization.
    fn all_outside(&mut self) -> Vec<Found> {
        let waiting: Vec<usize> = (0..self.waiting.len())
            .filter(|&i| self.waiting[i])
            .collect();
        self.left = 0;
        waiting
            .into_iter()
            .map(|i| {
                self.waiting[i] = false;
                Found::Outside(i)
            })
            .collect()
    }

    fn no_organization(&mut self) -> Vec<Found> {
        self.no_organization = true;
        self.listing = Listing::Finished;
        self.queue.clear();
        for i in 0..self.waiting.len() {
            if self.waiting[i] {
                self.describe[i] = Describe::NotPlanned;
            }
        }
        self.all_outside()
    }

    /// Before anything is created or invited, an `AccessDenied` fails the
    /// invocation. After, failing it would hide what was done, so the accounts
    /// still unknown are reported unprocessed instead.
    fn denied(&mut self, message: String, changed: bool) -> Result<(), Fatal> {
        if !changed {
            return Err(Fatal::OrganizationsAccessDenied(message));
        }
        let error = format!("AccessDeniedException: {message}");
        self.listing = Listing::Failed(error.clone());
        self.queue.clear();
        for i in 0..self.waiting.len() {
            if self.waiting[i] {
                self.describe[i] = Describe::Failed(error.clone());
            }
        }
        Ok(())
    }

    /// Reports the accounts whose membership can no longer be learned.
    fn settle(&mut self) -> Vec<Found> {
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
        for i in 0..self.waiting.len() {
            if !self.waiting[i] {
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
            self.waiting[i] = false;
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
