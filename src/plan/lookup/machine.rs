//! The lookup's state: every account's describe, the listing, what was
//! learned; which call to start next.

use std::collections::{HashMap, VecDeque};

use super::estimate::{Evidence, Mode, describe_slots};
use crate::plan::call::{Call, CallId, Membership};
use crate::response::Outcome;

/// How membership is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Nothing to look up (`ORGANIZATIONS_CHECK=off`, or all known).
    None,
    /// One `DescribeAccount` per account, all slots.
    Describe,
    /// The sequential `ListAccounts` pages.
    List,
    /// Both, as the pages and answers so far say: the listing alone while
    /// it is sure to finish first, describes on every slot once they are
    /// sure to, both while it cannot tell ([`estimate`]). Used when the
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

/// A fixed pseudo-random key for an account ID: its digits folded into a
/// number, then [`mix`], so that neighbouring IDs land far apart. Written
/// out rather than `std`'s hasher, whose output may change between Rust
/// releases: the same event is looked up in the same order by every build.
fn scatter(id: &str) -> u64 {
    mix(id
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(257).wrapping_add(u64::from(b))))
}

/// SplitMix64's finalizer: every input bit moves about half the output's.
pub(super) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
pub(super) enum Describe {
    NotPlanned,
    Queued,
    InFlight,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Listing {
    NotUsed,
    /// The next page to ask for (`None`: the first), and the call asking
    /// for it, if one is in flight.
    Active {
        next_token: Option<String>,
        asked: Option<CallId>,
    },
    Finished,
    /// Ended by the race: describing was sure to finish first.
    Abandoned,
    Failed(String),
}

/// Per account of the plan.
#[derive(Debug, Clone, Default)]
pub(super) struct Account {
    /// Looked up by this lookup (the warm cache did not know it).
    pub(super) asked: bool,
    /// Still waiting for an answer.
    pub(super) waiting: bool,
    /// A page has shown it.
    pub(super) listed: bool,
    /// A describe found it in the organization.
    pub(super) described_inside: bool,
}

pub struct Lookup {
    pub(super) strategy: Strategy,
    pub(super) slots: usize,
    pub(super) accounts: Vec<Account>,
    pub(super) left: usize,
    pub(super) describe: Vec<Describe>,
    pub(super) queue: VecDeque<usize>,
    pub(super) describing: HashMap<CallId, usize>,
    pub(super) listing: Listing,
    pub(super) listed: Vec<(String, Option<String>)>,
    /// What the calls showed so far, for the race's choices.
    pub(super) evidence: Evidence,
    /// Hits of the pages read, running total after each page.
    pub(super) hits_after: Vec<usize>,
    pub(super) describe_confirmed: bool,
    pub(super) list_confirmed: bool,
    pub(super) no_organization: bool,
    pub(super) wrapping_up: bool,
    pub(super) learned: Vec<(String, Membership)>,
    /// Whether the listing-only mode makes probe describes at all.
    pub(super) probing: bool,
}

impl Lookup {
    /// A lookup of the accounts `unknown` (indices into `ids`).
    pub fn new(
        ids: &[String],
        mut unknown: Vec<usize>,
        slots: usize,
        known_pages: Option<usize>,
    ) -> Self {
        let n = ids.len();
        let strategy = choose_strategy(unknown.len(), slots, known_pages);
        if strategy == Strategy::Race {
            // The race's estimate and its probes take the describes as a
            // random sample of the event, but events are seldom in random
            // order (organization accounts first, say, or sorted): describe
            // in an order the event's own order does not decide, the same
            // for the same accounts.
            unknown.sort_by_cached_key(|&i| scatter(&ids[i]));
        }
        let mut accounts = vec![Account::default(); n];
        let mut describe = vec![Describe::NotPlanned; n];
        let describing = matches!(strategy, Strategy::Describe | Strategy::Race);
        for &i in &unknown {
            accounts[i].asked = true;
            accounts[i].waiting = true;
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
            slots: slots.max(1),
            left: unknown.len(),
            accounts,
            describe,
            queue: if describing {
                unknown.into()
            } else {
                VecDeque::new()
            },
            describing: HashMap::new(),
            listing,
            listed: Vec::new(),
            evidence: Evidence::default(),
            hits_after: Vec::new(),
            describe_confirmed: false,
            list_confirmed: false,
            no_organization: false,
            wrapping_up: false,
            learned: Vec::new(),
            probing: true,
        }
    }

    /// Whether the listing-only mode makes probe describes. A probe is
    /// there to find one account outside early, so that GuardDuty's detector
    /// lookup can start beside the listing; with every Region's detector
    /// known (configured, or from the warm process) there is nothing to
    /// start early, and a probe is a call the listing makes anyway.
    pub fn probing(mut self, on: bool) -> Self {
        self.probing = on;
        self
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Accounts still waiting for Organizations.
    pub fn left(&self) -> usize {
        self.left
    }

    /// Organizations calls in flight, the listing's page included: the
    /// listing is one of the `MAX_CALLS_IN_FLIGHT` calls the contract allows
    /// per service, not one more.
    pub fn in_flight(&self) -> usize {
        self.describing.len() + usize::from(self.page_in_flight())
    }

    /// Creating, inviting and assuming member roles wait until each kind of
    /// Organizations call in use has answered once without `AccessDenied`, so
    /// that a denied lookup fails the invocation before anything is done. A
    /// listing that ended (failed, or abandoned by the race) is no longer in
    /// use.
    pub fn gate_open(&self) -> bool {
        if self.left == 0 {
            return true;
        }
        let describing = matches!(self.strategy, Strategy::Describe | Strategy::Race);
        let listing = matches!(self.listing, Listing::Active { .. });
        (!describing || self.describe_confirmed) && (!listing || self.list_confirmed)
    }

    pub fn learned(&self) -> Learned {
        let finished = self.listing == Listing::Finished && !self.no_organization;
        let mut accounts = self.learned.clone();
        if !finished && !self.no_organization {
            // A listing not read to the end still shows members: remembered
            // one by one, the next invocation need not ask for them.
            accounts.extend(self.listed.iter().map(|(id, org_id)| {
                let org_id = org_id.clone();
                (id.clone(), Membership::Member { org_id })
            }));
        }
        Learned {
            accounts,
            no_organization: self.no_organization,
            full_listing: finished.then(|| self.listed.clone()),
            pages: finished.then_some(self.evidence.pages),
        }
    }

    /// The next call to start, as call `id`: the next page while the listing
    /// has none in flight, else the next account to describe, as many as the
    /// strategy (for a race: what the calls so far say) wants in flight.
    pub fn next_call(&mut self, id: CallId, ids: &[String]) -> Option<Call> {
        if self.wrapping_up || self.left == 0 {
            return None;
        }
        self.abandon_if_beaten();
        let wanted = self.describes_wanted();
        if let Listing::Active { next_token, asked } = &mut self.listing
            && asked.is_none()
        {
            *asked = Some(id);
            return Some(Call::ListAccounts {
                next_token: next_token.clone(),
            });
        }
        if self.describing.len() >= wanted {
            return None;
        }
        while let Some(i) = self.queue.pop_front() {
            if self.accounts[i].waiting && self.describe[i] == Describe::Queued {
                self.describe[i] = Describe::InFlight;
                self.describing.insert(id, i);
                if matches!(self.mode(), Some(Mode::List { .. })) {
                    self.evidence.probes += 1;
                }
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

    pub(super) fn page_in_flight(&self) -> bool {
        matches!(self.listing, Listing::Active { asked: Some(_), .. })
    }

    /// The race's mode now; `None` for the other strategies.
    fn mode(&self) -> Option<Mode> {
        if self.strategy != Strategy::Race {
            return None;
        }
        let evidence = self.current_evidence();
        let listing = matches!(self.listing, Listing::Active { .. });
        Some(evidence.mode(self.slots, listing))
    }

    /// The evidence with the figures derived from the lookup's state.
    fn current_evidence(&self) -> Evidence {
        let pages = self.hits_after.len();
        let recent_pages = pages.div_ceil(2);
        let before = match pages - recent_pages {
            0 => 0,
            older => self.hits_after[older - 1],
        };
        Evidence {
            left: self.left,
            recent_pages,
            recent_hits: self.evidence.hits - before,
            ..self.evidence
        }
    }

    /// Describes wanted in flight: all slots but the listing's, or what the
    /// race's mode says.
    fn describes_wanted(&self) -> usize {
        match self.mode() {
            Some(Mode::List { .. }) if !self.probing => 0,
            Some(mode) => describe_slots(mode, self.slots),
            None => self.slots,
        }
    }

    /// The race ends the listing, between pages, once describing is sure
    /// to finish first and a page settles less than a describe would.
    fn abandon_if_beaten(&mut self) {
        let between_pages = matches!(self.listing, Listing::Active { asked: None, .. });
        if between_pages && self.mode() == Some(Mode::Describe { listing: false }) {
            self.listing = Listing::Abandoned;
        }
    }
}
