//! How a lookup that does not know the organization's size spends its slots
//! (`Strategy::Race`), from what its own calls have shown so far.
//!
//! Listing costs one call a round and settles the event's organization
//! members as their pages come, and every other account at once when the
//! last page comes. Describing costs one call an account, `slots` a round.
//! Which is faster depends on the number of pages, which nobody tells us;
//! but the calls made so far say a lot about it:
//!
//! * the pages read show how many of the event's accounts a page holds
//!   ("hits"), which is the organization's share of the event spread over
//!   its pages;
//! * the accounts described show what share of the event's accounts not yet
//!   listed are in the organization.
//!
//! Together: the organization members still to find, over the hits a page
//! brings, is the number of pages still to read. Both figures are counts
//! from small samples, so each is taken with a one-standard-deviation margin
//! and the lookup commits to one way only when the two ends of the estimate
//! agree; in between it keeps both going (the old race).
//!
//! This assumes the event's organization members are spread over the pages
//! independently of the order Organizations lists them in. When they are
//! not (all on the first pages, say), the hits of the latest half of the
//! pages betray it, and the bounds widen to that half's rate: a run of pages
//! without hits ends the listing-only mode.

/// Width of the margin around each estimate, in standard deviations.
const Z: f64 = 1.0;

/// Up to this many rounds of describes, an event races from the first round
/// (one page and `slots - 1` describes): holding its describes back for a
/// round would cost a fifth of its time or more, and the listing can beat
/// it only for an organization of fewer than this many pages.
const SMALL_EVENT_ROUNDS: usize = 4;

/// The latest half of the pages is compared with the older half from this
/// many pages on; fewer say more about chance than about how members are
/// spread.
const MIN_RECENT_PAGES: usize = 4;

/// How far (in standard deviations) the latest half's hits must be from the
/// older half's for the spread to count as uneven.
const Z_SHIFT: f64 = 3.0;

/// A probe describe (to find one account outside, so that GuardDuty's
/// detector lookup and member reads can start beside the listing) is made
/// only while the listing is expected to need at least this many more pages:
/// ListDetectors, then GetMembers, must fit before it ends to gain anything.
const PROBE_MIN_PAGES_LEFT: f64 = 3.0;

/// A probe settles an account the listing would have settled anyway: after
/// the first (made before anything is known), probes are kept within this
/// share of the pages the listing is expected to read at the least (read,
/// and the low end of the estimate of those left), so that they cannot
/// make a listing of an organization that holds the whole event cost much
/// more than its pages.
const PROBE_SHARE: f64 = 0.25;

/// What the lookup's calls have shown so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Evidence {
    /// `ListAccounts` pages answered, empty ones included.
    pub pages: usize,
    /// The lookup's accounts those pages showed, settled before or not.
    pub hits: usize,
    /// The latest `ceil(pages / 2)` pages, and their hits.
    pub recent_pages: usize,
    pub recent_hits: usize,
    /// Accounts described and found outside the organization.
    pub described_outside: usize,
    /// Accounts described and found in it that no page has shown yet.
    pub described_inside_unlisted: usize,
    /// Accounts still waiting for an answer.
    pub left: usize,
    /// Some account was found outside the organization.
    pub outside_known: bool,
    /// Probe describes made so far (see [`PROBE_MIN_PAGES_LEFT`]).
    pub probes: usize,
}

/// How the race spends its slots now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// The listing alone, with at most one probe describe in flight.
    List { probe: bool },
    /// The listing and `slots - 1` describes: the estimate cannot tell yet.
    Race,
    /// Describing is faster whatever the listing does. The listing goes on
    /// only while its pages settle at least one account each, as many as
    /// the describe its slot would carry: `listing: false` ends it.
    Describe { listing: bool },
}

/// A lower and an upper estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Range {
    pub low: f64,
    pub high: f64,
}

impl Evidence {
    /// The share of the event's accounts not yet listed that are in the
    /// organization: the described accounts' share, with a uniform prior
    /// (Beta(1, 1)), ± [`Z`] standard deviations.
    pub fn inside_share(&self) -> Range {
        let a = 1.0 + self.described_inside_unlisted as f64;
        let b = 1.0 + self.described_outside as f64;
        let mean = a / (a + b);
        let sd = (a * b / ((a + b) * (a + b) * (a + b + 1.0))).sqrt();
        Range {
            low: (mean - Z * sd).max(0.0),
            high: (mean + Z * sd).min(1.0),
        }
    }

    /// The lookup's accounts a page holds, on average: a Poisson count over
    /// the pages read, ± [`Z`] standard deviations. When the latest half of
    /// the pages differs from the older half by more than [`Z_SHIFT`]
    /// standard deviations, the members are not spread evenly, and the bound
    /// on that side is widened to the latest half's. None before a page.
    pub fn hits_per_page(&self) -> Option<Range> {
        let all = rate(self.hits, self.pages)?;
        let older_pages = self.pages - self.recent_pages;
        if self.recent_pages < MIN_RECENT_PAGES || older_pages == 0 {
            return Some(all);
        }
        let Some(recent) = rate(self.recent_hits, self.recent_pages) else {
            return Some(all);
        };
        let older_hits = (self.hits - self.recent_hits) as f64;
        // Both halves are counts: the difference's variance is the sum of
        // theirs, the older one's scaled to the latest half's length.
        let scale = self.recent_pages as f64 / older_pages as f64;
        let expected = older_hits * scale;
        let shift = Z_SHIFT * (expected.max(1.0) * (1.0 + scale)).sqrt();
        let observed = self.recent_hits as f64;
        Some(Range {
            low: if observed < expected - shift {
                all.low.min(recent.low)
            } else {
                all.low
            },
            high: if observed > expected + shift {
                all.high.max(recent.high)
            } else {
                all.high
            },
        })
    }

    /// The pages the listing still needs: the organization members among
    /// the accounts not listed yet, over the hits a page brings. At least
    /// one (the listing has not ended); the upper end is infinite while the
    /// lower rate is zero (no hit yet, or none lately).
    pub fn pages_left(&self) -> Option<Range> {
        let per_page = self.hits_per_page()?;
        let share = self.inside_share();
        let inside = |share: f64| self.described_inside_unlisted as f64 + share * self.left as f64;
        let pages = |inside: f64, per_page: f64| {
            if per_page > 0.0 {
                (inside / per_page).max(1.0)
            } else {
                f64::INFINITY
            }
        };
        Some(Range {
            low: pages(inside(share.low), per_page.high),
            high: pages(inside(share.high), per_page.low),
        })
    }

    /// How to spend the slots, given what was seen. `listing`: the listing
    /// can still ask for pages.
    pub fn mode(&self, slots: usize, listing: bool) -> Mode {
        let describe_rounds = self.left as f64 / slots.max(1) as f64;
        let Some(pages_left) = self.pages_left().filter(|_| listing) else {
            return self.opening(slots, listing);
        };
        if pages_left.high <= describe_rounds {
            let midpoint = (pages_left.low + pages_left.high) / 2.0;
            let budget = PROBE_SHARE * (self.pages as f64 + pages_left.low);
            let probe = !self.outside_known
                && self.probes <= self.pages
                && (self.probes + 1) as f64 <= budget.max(1.0)
                && midpoint >= PROBE_MIN_PAGES_LEFT;
            Mode::List { probe }
        } else if pages_left.low >= describe_rounds {
            Mode::Describe {
                listing: self.new_hits_per_page() >= 1.0,
            }
        } else {
            Mode::Race
        }
    }

    /// Before the first page: a small event races at once; a larger one
    /// reads the first page with a single probe describe beside it, since
    /// a page says more about the organization's size than a round of
    /// describes, and costs one call instead of `slots - 1`.
    fn opening(&self, slots: usize, listing: bool) -> Mode {
        if !listing {
            return Mode::Describe { listing: false };
        }
        if self.left.div_ceil(slots.max(1)) <= SMALL_EVENT_ROUNDS {
            Mode::Race
        } else {
            Mode::List {
                probe: self.probes == 0,
            }
        }
    }

    /// The accounts still waiting that the next page is expected to settle.
    fn new_hits_per_page(&self) -> f64 {
        let Some(per_page) = self.hits_per_page() else {
            return 0.0;
        };
        let share = self.inside_share();
        let share = (share.low + share.high) / 2.0;
        let waiting_inside = share * self.left as f64;
        let unlisted_inside = self.described_inside_unlisted as f64 + waiting_inside;
        if unlisted_inside <= 0.0 {
            return 0.0;
        }
        let per_page = (per_page.low + per_page.high) / 2.0;
        per_page * waiting_inside / unlisted_inside
    }
}

/// `hits` in `pages` pages, per page, ± [`Z`] standard deviations.
fn rate(hits: usize, pages: usize) -> Option<Range> {
    if pages == 0 {
        return None;
    }
    let (hits, pages) = (hits as f64, pages as f64);
    Some(Range {
        low: (hits - Z * hits.sqrt()).max(0.0) / pages,
        high: (hits + 1.0 + Z * (hits + 1.0).sqrt()) / pages,
    })
}

/// The describes to have in flight in `mode`, with `slots` in all.
pub(super) fn describe_slots(mode: Mode, slots: usize) -> usize {
    match mode {
        Mode::List { probe } => usize::from(probe),
        Mode::Race | Mode::Describe { listing: true } => slots.saturating_sub(1),
        Mode::Describe { listing: false } => slots,
    }
}
