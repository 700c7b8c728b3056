//! The race's estimate (`estimate.rs`): which mode the evidence so far
//! leads to, from figures set by hand (no I/O, no clock).

use super::estimate::{Evidence, Mode};

const SLOTS: usize = 5;

#[test]
fn before_the_first_page_a_small_event_races_a_large_one_probes() {
    let small = Evidence {
        left: 20,
        ..Evidence::default()
    };
    assert_eq!(small.mode(SLOTS, true), Mode::Race);
    let large = Evidence {
        left: 21,
        ..Evidence::default()
    };
    assert_eq!(large.mode(SLOTS, true), Mode::List { probe: true });
    let probed = Evidence { probes: 1, ..large };
    assert_eq!(probed.mode(SLOTS, true), Mode::List { probe: false });
}

#[test]
fn a_page_full_of_the_events_accounts_means_listing_alone() {
    // A 100-account organization, an event of 200 naming all of it.
    let seen = Evidence {
        pages: 1,
        hits: 20,
        described_inside_unlisted: 1,
        left: 179,
        probes: 1,
        ..Evidence::default()
    };
    // The first probe found a member; the listing is expected to be too
    // short (3 pages more, at the least) to pay for a second.
    assert_eq!(seen.mode(SLOTS, true), Mode::List { probe: false });
    // Named in an event of 1,000, the organization may be far larger.
    let larger = Evidence { left: 979, ..seen };
    assert_eq!(larger.mode(SLOTS, true), Mode::List { probe: true });
    let outside_known = Evidence {
        outside_known: true,
        ..larger
    };
    assert_eq!(outside_known.mode(SLOTS, true), Mode::List { probe: false });
    // One probe a page at most.
    let probed = Evidence {
        probes: 2,
        ..larger
    };
    assert_eq!(probed.mode(SLOTS, true), Mode::List { probe: false });
}

#[test]
fn probes_stay_within_a_quarter_of_the_pages_expected() {
    // Every probe so far found a member not listed yet: the event may lie
    // wholly inside the organization, and every probe would be a call the
    // listing makes anyway.
    let seen = Evidence {
        pages: 4,
        hits: 80,
        described_inside_unlisted: 4,
        left: 300,
        probes: 4,
        ..Evidence::default()
    };
    let pages_left = seen.pages_left().unwrap();
    assert!((9.0..10.0).contains(&pages_left.low), "{pages_left:?}");
    // 4 pages read and 9.4 expected at the least: 3 probes' worth.
    assert_eq!(seen.mode(SLOTS, true), Mode::List { probe: false });
    let fewer = Evidence { probes: 2, ..seen };
    assert_eq!(fewer.mode(SLOTS, true), Mode::List { probe: true });
}

#[test]
fn few_hits_and_many_members_mean_describing_alone() {
    let seen = Evidence {
        pages: 5,
        hits: 2,
        described_inside_unlisted: 10,
        described_outside: 10,
        left: 180,
        outside_known: true,
        ..Evidence::default()
    };
    let pages_left = seen.pages_left().unwrap();
    assert!(pages_left.low > 36.0, "{pages_left:?}");
    // A page brings about half an account: less than a describe would.
    assert_eq!(seen.mode(SLOTS, true), Mode::Describe { listing: false });
}

#[test]
fn a_productive_listing_keeps_its_slot_while_describes_win() {
    // Two hits a page, half the event inside: 250 pages against 180 rounds.
    let seen = Evidence {
        pages: 40,
        hits: 80,
        recent_pages: 20,
        recent_hits: 40,
        described_inside_unlisted: 80,
        described_outside: 80,
        left: 900,
        outside_known: true,
        ..Evidence::default()
    };
    assert_eq!(seen.mode(SLOTS, true), Mode::Describe { listing: true });
}

#[test]
fn an_unclear_estimate_races() {
    let seen = Evidence {
        pages: 1,
        hits: 5,
        left: 990,
        probes: 1,
        ..Evidence::default()
    };
    assert_eq!(seen.mode(SLOTS, true), Mode::Race);
    // With no page showing an account of the event, nothing tells how long
    // the listing is.
    let nothing = Evidence {
        pages: 30,
        described_outside: 100,
        left: 100,
        outside_known: true,
        ..Evidence::default()
    };
    assert_eq!(nothing.mode(SLOTS, true), Mode::Race);
}

#[test]
fn a_run_of_pages_without_hits_ends_listing_alone() {
    let even = Evidence {
        pages: 20,
        hits: 100,
        recent_pages: 10,
        recent_hits: 50,
        described_outside: 3,
        left: 300,
        outside_known: true,
        ..Evidence::default()
    };
    assert_eq!(even.mode(SLOTS, true), Mode::List { probe: false });
    // The same hits, all on the first ten pages.
    let clustered = Evidence {
        recent_hits: 0,
        ..even
    };
    assert_eq!(clustered.hits_per_page().unwrap().low, 0.0);
    assert_ne!(clustered.mode(SLOTS, true), Mode::List { probe: false });
    // A dip within chance changes nothing.
    let dip = Evidence {
        recent_hits: 40,
        ..even
    };
    assert_eq!(dip.mode(SLOTS, true), Mode::List { probe: false });
}

#[test]
fn without_the_listing_every_slot_describes() {
    let seen = Evidence {
        pages: 3,
        hits: 60,
        left: 100,
        ..Evidence::default()
    };
    assert_eq!(seen.mode(SLOTS, false), Mode::Describe { listing: false });
}
