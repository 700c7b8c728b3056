//! A round-by-round model of an invocation, for the lookup's tests: the
//! whole [`Plan`] against the shared [`FakeAws`], every call answering in
//! one round (as with the bench's fixed 20 ms a call), and the bench's lower
//! bound (`bench/bound.py`, `lower_bound`) in rounds, to compare with.

use super::machine::mix;
use crate::event::{Email, Named, Request};
use crate::plan::{Call, Options, Phase, Plan, RegionSetup, triage};
use crate::testing::{FakeAws, PerAccount, World, account_id};

/// Calls in flight per service, and the batch and page sizes, as deployed.
pub const SLOTS: usize = 5;
const BATCH: usize = crate::plan::BATCH;
const PAGE: usize = crate::aws::organizations::LIST_PAGE as usize;

/// A deterministic random number generator (SplitMix64).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// One bench case: an organization of `org` accounts and an event of `n`,
/// `inside` of them drawn from the organization.
#[derive(Debug, Clone)]
pub struct Case {
    pub org: Vec<String>,
    pub event: Vec<String>,
    pub inside: usize,
}

impl Case {
    /// As bench.py builds it: the organization in random order, the inside
    /// accounts drawn at random from it, interleaved with the outside ones
    /// (inside first), the rest of the outside ones after.
    pub fn bench(org_size: usize, n: usize, seed: u64) -> Case {
        let mut rng = Rng(seed);
        let mut org: Vec<String> = (0..org_size)
            .map(|i| account_id(200_000_000_000, i))
            .collect();
        rng.shuffle(&mut org);
        let inside = (n / 2).min(org_size);
        let mut drawn = org.clone();
        rng.shuffle(&mut drawn);
        drawn.truncate(inside);
        let outside = (0..n - inside).map(|i| account_id(700_000_000_000, i));
        let mut event = Vec::with_capacity(n);
        for (i, outsider) in outside.into_iter().enumerate() {
            if let Some(member) = drawn.get(i) {
                event.push(member.clone());
            }
            event.push(outsider);
        }
        Case { org, event, inside }
    }

    /// The event's organization members are the first ones listed (all on
    /// the first pages): the estimate's worst case.
    pub fn clustered(org_size: usize, n: usize, seed: u64) -> Case {
        let mut case = Case::bench(org_size, n, seed);
        let mut first = case.org.iter();
        for id in case.event.iter_mut().filter(|id| id.starts_with('2')) {
            *id = first.next().expect("as many").clone();
        }
        case
    }

    /// No account of the event is in the organization: no page shows one.
    pub fn all_outside(org_size: usize, n: usize, seed: u64) -> Case {
        let mut case = Case::bench(org_size, 0, seed);
        case.event = (0..n).map(|i| account_id(700_000_000_000, i)).collect();
        case
    }

    /// Every account of the event is in the organization (as many as it
    /// holds, drawn at random from it): no probe can find one outside.
    pub fn all_inside(org_size: usize, n: usize, seed: u64) -> Case {
        let mut case = Case::bench(org_size, 2 * n.min(org_size), seed);
        case.event.retain(|id| id.starts_with('2'));
        case.inside = case.event.len();
        case
    }

    pub fn pages(&self) -> usize {
        self.org.len().div_ceil(PAGE).max(1)
    }
}

/// What one modelled invocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub rounds: usize,
    pub describes: usize,
    pub pages: usize,
}

impl Run {
    pub fn org_calls(&self) -> usize {
        self.describes + self.pages
    }
}

/// Runs `case` as a fresh process's first invocation: no warm knowledge,
/// the detector to discover, every outside account a `Removed` member.
pub fn run(case: &Case) -> Run {
    run_with_detector(case, None)
}

/// As [`run`], with the detector given (`GUARDDUTY_DETECTOR_ID`) if
/// `detector_id` is.
pub fn run_with_detector(case: &Case, detector_id: Option<String>) -> Run {
    let request = Request {
        accounts: case
            .event
            .iter()
            .map(|id| Named {
                account_id: id.clone(),
                email: Email::NotGiven,
            })
            .collect(),
        ..Request::default()
    };
    let options = Options {
        slots: SLOTS,
        dry_run: false,
        message: None,
        disable_email_notification: false,
        check_organizations: true,
        known_pages: None,
        regions: vec![RegionSetup {
            name: crate::testing::OWN_REGION.into(),
            detector_id,
        }],
        multi_region: false,
        member_role: None,
    };
    let org: std::collections::HashSet<&String> = case.org.iter().collect();
    let members: PerAccount<String> = case
        .event
        .iter()
        .filter(|id| !org.contains(id))
        .map(|id| (id.clone(), "Removed".to_owned()))
        .collect();
    let aws = FakeAws::new(World {
        organization: Some(case.org.clone()),
        members,
        ..World::default()
    });
    let mut plan = Plan::new(triage(&request, None), |_| None, options);
    let mut rounds = 0;
    loop {
        let calls = plan.next_calls(Phase::Normal);
        if calls.is_empty() {
            break;
        }
        rounds += 1;
        for (id, call) in &calls {
            plan.on_reply(*id, aws.answer(call)).unwrap();
        }
    }
    assert!(plan.is_done(), "every account decided");
    let count = |op: &str| {
        aws.calls()
            .iter()
            .filter(|c: &&Call| c.operation() == op)
            .count()
    };
    Run {
        rounds,
        describes: count("DescribeAccount"),
        pages: count("ListAccounts"),
    }
}

/// The bench's lower bound for a first invocation, in rounds, and the
/// Organizations calls of the strategy it uses.
pub fn lower_bound(case: &Case) -> (usize, usize) {
    let n = case.event.len();
    let invites = (n - case.inside).div_ceil(BATCH);
    let invite_rounds = invites.div_ceil(SLOTS);
    let reads = n.div_ceil(BATCH);
    let read_rounds = reads.div_ceil(SLOTS);
    let tail = usize::from(invites > 0);
    let guardduty = if invites == 0 {
        reads.div_ceil(SLOTS)
    } else {
        (reads + invites)
            .div_ceil(SLOTS)
            .max(1 + invites.div_ceil(SLOTS))
    };
    let by_describe = (n.div_ceil(SLOTS).max(1 + read_rounds) + tail).max(1 + guardduty);
    let by_list = case.pages().max(1 + read_rounds) + invite_rounds;
    if by_describe <= by_list {
        (by_describe, n)
    } else {
        (by_list, case.pages())
    }
}
