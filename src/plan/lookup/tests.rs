//! The lookup's own tests: the race driven by hand round by round, and the
//! bench's cases modelled (no I/O, no clock). The estimate's are in
//! `estimate_tests.rs`.

use std::collections::HashMap;

use super::machine::*;
use super::sim::{Case, Run, lower_bound, run, run_with_detector};
use crate::plan::{Call, CallId};
use crate::plan::{OrgError, Reply};
use crate::testing::{FakeAws, World};

const SLOTS: usize = 5;

// --------------------------------------------------------- the race by hand

/// A lookup of every account of `event` against an organization, answered
/// by the shared fake, round by round.
struct Driver {
    lookup: Lookup,
    ids: Vec<String>,
    index: HashMap<String, usize>,
    aws: FakeAws,
    next: CallId,
    rounds: Vec<Vec<Call>>,
    found: Vec<Found>,
}

impl Driver {
    fn new(organization: Vec<String>, event: Vec<String>) -> Driver {
        let index = event
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        Driver {
            lookup: Lookup::new(&event, (0..event.len()).collect(), SLOTS, None),
            ids: event,
            index,
            aws: FakeAws::new(World {
                organization: Some(organization),
                ..World::default()
            }),
            next: 0,
            rounds: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Starts every call the lookup wants within the slots, as the plan
    /// does, then answers them all. False when it wanted none.
    fn round(&mut self) -> bool {
        let mut calls = Vec::new();
        while self.lookup.in_flight() < SLOTS {
            let Some(call) = self.lookup.next_call(self.next, &self.ids) else {
                break;
            };
            calls.push((self.next, call));
            self.next += 1;
        }
        assert!(self.lookup.in_flight() <= SLOTS);
        if calls.is_empty() {
            return false;
        }
        for (id, call) in &calls {
            let found = match self.aws.answer(call) {
                Reply::Account(answer) => self.lookup.on_account(*id, answer, &self.ids, false),
                Reply::AccountsPage(answer) => {
                    self.lookup
                        .on_page(*id, answer, &self.ids, &self.index, false)
                }
                other => panic!("{other:?}"),
            };
            self.found.extend(found.unwrap());
        }
        self.rounds
            .push(calls.into_iter().map(|(_, call)| call).collect());
        true
    }

    fn run(&mut self) {
        while self.round() {}
        assert_eq!(self.lookup.left(), 0);
    }

    fn count(&self, operation: &str) -> usize {
        self.aws.made(operation)
    }
}

/// `n` accounts, `inside` of them drawn from an organization of `org`.
fn driver(org: usize, n: usize) -> Driver {
    let case = Case::bench(org, n, 7);
    Driver::new(case.org, case.event)
}

#[test]
fn a_small_organization_is_listed_with_one_probe_beside() {
    let mut d = driver(100, 200);
    assert_eq!(d.lookup.strategy(), Strategy::Race);
    d.run();
    assert_eq!(d.count("ListAccounts"), 5);
    // One probe, beside the first page; the listing is too short to pay
    // for a second.
    assert_eq!(d.count("DescribeAccount"), 1);
    let members = d
        .found
        .iter()
        .filter(|f| matches!(f, Found::Member(..)))
        .count();
    assert_eq!(members, 100);
    assert_eq!(d.lookup.learned().pages, Some(5));
}

#[test]
fn the_race_describes_in_an_order_the_events_order_does_not_decide() {
    let case = Case::bench(2000, 200, 7);
    let mut reversed = case.event.clone();
    reversed.reverse();
    let described = |event: Vec<String>| {
        let mut d = Driver::new(case.org.clone(), event);
        d.run();
        let order: Vec<String> = d
            .aws
            .calls()
            .iter()
            .filter_map(|c| match c {
                Call::DescribeAccount { account_id } => Some(account_id.clone()),
                _ => None,
            })
            .collect();
        order
    };
    let forward = described(case.event.clone());
    assert!(forward.len() > 100, "{} described", forward.len());
    assert_eq!(forward, described(reversed));
    // Not the event's order: its first account (a member) is not the probe.
    assert_ne!(forward[0], case.event[0]);
}

#[test]
fn a_large_organization_is_described_on_every_slot() {
    let mut d = driver(5000, 200);
    d.run();
    let pages = d.count("ListAccounts");
    assert!(pages <= 5, "the listing stops early: {pages} pages");
    assert!(d.rounds.len() <= 42, "{} rounds", d.rounds.len());
    let last = &d.rounds[d.rounds.len() - 2];
    assert!(
        last.iter()
            .all(|c| matches!(c, Call::DescribeAccount { .. })),
        "{last:?}"
    );
    assert_eq!(last.len(), SLOTS);
    // What the pages showed is remembered, though the listing was not read
    // to the end.
    let learned = d.lookup.learned();
    assert_eq!(learned.full_listing, None);
    assert!(learned.accounts.len() >= 200 + 20 * (pages - 1));
}

#[test]
fn no_page_is_asked_once_every_account_is_settled() {
    // Twelve accounts race from the first round; the first page of a
    // 100-page listing holds them all.
    let org = Case::all_outside(2000, 0, 7).org;
    let mut d = Driver::new(org.clone(), org[..12].to_vec());
    assert!(d.round());
    assert_eq!(d.rounds[0].len(), SLOTS);
    assert_eq!(d.lookup.left(), 0);
    assert!(matches!(
        d.lookup.listing,
        Listing::Active { asked: None, .. }
    ));
    assert!(d.lookup.next_call(d.next, &d.ids).is_none());
}

#[test]
fn a_failed_listing_hands_every_slot_to_the_describes() {
    let mut d = driver(5000, 200);
    assert!(d.round());
    // Fail the next page: the listing is out of the race.
    let id = d.next;
    let call = d.lookup.next_call(id, &d.ids).unwrap();
    assert!(matches!(call, Call::ListAccounts { .. }));
    let error = Err(OrgError::Other("ServiceException: boom".into()));
    d.lookup
        .on_page(id, error, &d.ids, &d.index, false)
        .unwrap();
    d.next += 1;
    assert!(d.lookup.gate_open() || d.lookup.left() > 0);
    assert!(d.round());
    assert_eq!(d.rounds[1].len(), SLOTS);
    assert!(
        d.rounds[1]
            .iter()
            .all(|c| matches!(c, Call::DescribeAccount { .. }))
    );
    d.run();
    assert!(d.found.iter().all(|f| !matches!(f, Found::Unknown(..))));
}

#[test]
fn an_abandoned_listing_does_not_hold_the_gate() {
    let mut d = driver(5000, 200);
    while d.lookup.listing != Listing::Abandoned {
        assert!(d.round(), "the listing was never abandoned");
    }
    assert!(d.lookup.gate_open());
}

// ------------------------------------------------------- the bench, modelled

/// The bench's cases, on a few events each: Organizations calls within 1.3 ×
/// those of the strategy the lower bound uses, and rounds within 1.1 × the
/// bound where the detector rule leaves room (the 10-account events and the
/// 100-account organization need rounds the bound does not count).
#[test]
fn the_bench_cases_stay_near_the_lower_bound() {
    for (org, n) in [(2000, 200), (2000, 1000), (5000, 200), (5000, 1000)] {
        for seed in 0..3 {
            let case = Case::bench(org, n, 100 + seed);
            let got = run(&case);
            let (bound, bound_calls) = lower_bound(&case);
            let what = format!(
                "org {org}, N {n}, seed {seed}: {got:?}, bound {bound} rounds, {bound_calls} calls"
            );
            assert!(got.rounds * 10 <= bound * 11, "{what}");
            assert!(got.org_calls() * 10 <= bound_calls * 13, "{what}");
        }
    }
}

/// No probe can find an account outside: the budget keeps them within a
/// quarter of the pages (without it, one a page: 2 × the listing's calls).
#[test]
fn an_event_wholly_inside_costs_at_most_a_quarter_more_calls() {
    for seed in 0..3 {
        let case = Case::all_inside(2000, 1000, 40 + seed);
        let got = run(&case);
        let (bound, bound_calls) = lower_bound(&case);
        assert_eq!(bound_calls, 100, "the listing is the bound's strategy");
        assert!(got.org_calls() * 100 <= bound_calls * 130, "{got:?}");
        assert!(got.rounds * 10 <= bound * 11, "{got:?} against {bound}");
    }
}

/// With the detector given there is nothing for a probe to start early:
/// the listing alone, and the reads from the first round.
#[test]
fn with_the_detector_known_the_listing_goes_without_probes() {
    for n in [200, 1000] {
        let case = Case::bench(100, n, 7);
        let given = Some("det".to_owned());
        let got = run_with_detector(&case, given);
        let (bound, bound_calls) = lower_bound(&case);
        assert_eq!((got.describes, got.pages), (0, 5), "N {n}");
        assert_eq!(bound_calls, 5);
        assert!(got.rounds <= bound, "N {n}: {got:?} against {bound}");
    }
}

#[test]
fn members_on_the_first_pages_cost_no_time() {
    for (org, n) in [(2000, 200), (5000, 200), (5000, 1000)] {
        let case = Case::clustered(org, n, 11);
        let got = run(&case);
        let (bound, _) = lower_bound(&case);
        assert!(got.rounds * 10 <= bound * 11, "{got:?} against {bound}");
    }
}

/// Prints the modelled bench table (`SIM_SEEDS=30 cargo test --lib
/// simulate -- --ignored --nocapture`; `SIM_KIND=clustered`, `outside` or `inside`
/// for the worst cases, `SIM_ORGS=100,5000` for other organizations).
#[test]
#[ignore = "a report, not a check"]
fn simulate_bench_cases() {
    let var = |name: &str| std::env::var(name).ok();
    let seeds: u64 = var("SIM_SEEDS").and_then(|s| s.parse().ok()).unwrap_or(10);
    let make: fn(usize, usize, u64) -> Case = match var("SIM_KIND").as_deref() {
        Some("clustered") => Case::clustered,
        Some("outside") => Case::all_outside,
        Some("inside") => Case::all_inside,
        _ => Case::bench,
    };
    let orgs: Vec<usize> = var("SIM_ORGS")
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or(vec![100, 2000, 5000]);
    for &org in &orgs {
        for n in [10, 200, 1000] {
            let mut time = Vec::new();
            let mut calls = Vec::new();
            let mut last: Option<(Run, usize, usize)> = None;
            for seed in 0..seeds {
                let case = make(org, n, 42 + seed);
                let got = run(&case);
                let (bound, bound_calls) = lower_bound(&case);
                if var("SIM_VERBOSE").is_some() {
                    println!("  seed {seed}: {got:?} bound {bound} rounds {bound_calls} calls");
                }
                time.push(got.rounds as f64 / bound as f64);
                calls.push(got.org_calls() as f64 / bound_calls as f64);
                last = Some((got, bound, bound_calls));
            }
            time.sort_by(f64::total_cmp);
            calls.sort_by(f64::total_cmp);
            let (got, bound, bound_calls) = last.unwrap();
            println!(
                "org {org:>5} N {n:>5}: rounds/bound median {:.2} max {:.2}; calls/bound median {:.2} max {:.2}  (last: {} rounds / {bound}, {} desc + {} pages / {bound_calls})",
                time[time.len() / 2],
                time[time.len() - 1],
                calls[calls.len() / 2],
                calls[calls.len() - 1],
                got.rounds,
                got.describes,
                got.pages,
            );
        }
    }
}
