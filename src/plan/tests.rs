//! The plan's unit tests: the plan driven by hand, with no I/O.

use super::*;
use crate::event::{Email, Named, Request};
use crate::testing::{FakeAws, World, account_ids};

fn request<S: AsRef<str>>(ids: &[S]) -> Request {
    Request {
        accounts: ids
            .iter()
            .map(|id| Named {
                account_id: id.as_ref().to_owned(),
                email: Email::NotGiven,
            })
            .collect(),
        ..Request::default()
    }
}

fn options() -> Options {
    Options {
        slots: 5,
        dry_run: false,
        detector_id: Some("det".into()),
        message: None,
        disable_email_notification: false,
        check_organizations: true,
        known_pages: None,
    }
}

/// Where the tests' account IDs start.
const BASE: u64 = 100_000_000_000;

/// `members` are in the organization, the rest are not; GuardDuty accepts
/// everything.
fn aws(members: &[String]) -> FakeAws {
    FakeAws::new(World {
        organization: Some(members.to_vec()),
        org_id: "o-1".into(),
        detector: Some("found".into()),
        ..World::default()
    })
}

/// Runs the plan to the end in rounds: all calls it allows, then all
/// answers. Returns the calls made per round.
fn run(plan: &mut Plan, members: &[String]) -> Vec<Vec<Call>> {
    let aws = aws(members);
    let mut rounds = Vec::new();
    loop {
        let calls = plan.next_calls(Phase::Normal);
        if calls.is_empty() {
            break;
        }
        for (id, call) in &calls {
            plan.on_reply(*id, aws.answer(call)).unwrap();
        }
        rounds.push(calls.into_iter().map(|(_, c)| c).collect());
    }
    rounds
}

#[test]
fn triage_applies_the_first_rows_in_order() {
    let mut r = request(&[
        "12345",
        "123456789012",
        "111111111111",
        "222222222222",
        "333333333333",
        "44444444444٤",
    ]);
    r.accounts[3].email = Email::Given("no-at-sign".into());
    r.accounts[4].email = Email::Missing;
    let t = triage(&r, Some("123456789012"));
    let reason = |i: usize| match &t[i].1 {
        Triaged::Decided(Outcome::Unprocessed(r)) => r.clone(),
        other => panic!("{other:?}"),
    };
    assert!(reason(0).starts_with("invalid account ID"));
    assert!(reason(1).contains("cannot invite itself"));
    assert_eq!(t[2].1, Triaged::Candidate(None));
    assert!(reason(3).starts_with("invalid e-mail"));
    assert!(reason(4).starts_with("e-mail missing"));
    assert!(
        reason(5).starts_with("invalid account ID"),
        "Unicode digits are not ASCII digits"
    );
}

#[test]
fn strategy_follows_the_round_trip_count() {
    assert_eq!(choose_strategy(0, 5, None), Strategy::None);
    assert_eq!(choose_strategy(10, 5, None), Strategy::Describe);
    assert_eq!(choose_strategy(11, 5, None), Strategy::Race);
    assert_eq!(choose_strategy(200, 5, Some(100)), Strategy::Describe);
    assert_eq!(choose_strategy(1000, 5, Some(100)), Strategy::List);
    assert_eq!(choose_strategy(500, 5, Some(100)), Strategy::Describe);
    assert_eq!(choose_strategy(505, 5, Some(100)), Strategy::List);
    assert_eq!(choose_strategy(100, 1, None), Strategy::List);
}

#[test]
fn invites_go_in_batches_of_fifty_never_more_than_slots_at_once() {
    let ids = account_ids(BASE, 260);
    let mut opts = options();
    opts.check_organizations = false;
    let mut plan = Plan::new(triage(&request(&ids), None), |_| None, opts);
    let rounds = run(&mut plan, &[]);
    let invites: Vec<usize> = rounds
        .iter()
        .flatten()
        .filter_map(|c| match c {
            Call::InviteMembers { account_ids, .. } => Some(account_ids.len()),
            _ => None,
        })
        .collect();
    assert_eq!(invites, [50, 50, 50, 50, 50, 10]);
    assert!(rounds.iter().all(|r| r.len() <= 5));
    let outcomes = plan.finish();
    assert!(outcomes.iter().all(|(_, o)| *o == Outcome::Invited));
}

#[test]
fn members_are_skipped_and_the_rest_invited_with_describe() {
    let ids = account_ids(BASE, 8);
    let members = vec![ids[1].clone(), ids[5].clone()];
    let mut plan = Plan::new(triage(&request(&ids), None), |_| None, options());
    assert_eq!(plan.strategy(), Strategy::Describe);
    let rounds = run(&mut plan, &members);
    // Two rounds of describes, then one invite of the six outside.
    assert_eq!(rounds.len(), 3, "{rounds:?}");
    let outcomes = plan.finish();
    for (i, (_, outcome)) in outcomes.iter().enumerate() {
        if i == 1 || i == 5 {
            assert_eq!(
                *outcome,
                Outcome::Skipped("managed by AWS Organizations (o-1)".into())
            );
        } else {
            assert_eq!(*outcome, Outcome::Invited);
        }
    }
}

#[test]
fn the_listing_settles_everyone_and_follows_tokens() {
    let ids = account_ids(BASE, 100);
    let members: Vec<String> = ids.iter().step_by(2).cloned().collect();
    let mut opts = options();
    opts.known_pages = Some(3);
    let mut plan = Plan::new(triage(&request(&ids), None), |_| None, opts);
    assert_eq!(plan.strategy(), Strategy::List);
    let rounds = run(&mut plan, &members);
    let lists = rounds
        .iter()
        .flatten()
        .filter(|c| matches!(c, Call::ListAccounts { .. }))
        .count();
    assert_eq!(lists, 3);
    assert!(
        rounds
            .iter()
            .flatten()
            .all(|c| !matches!(c, Call::DescribeAccount { .. }))
    );
    let learned = plan.learned();
    assert_eq!(learned.pages, Some(3));
    assert_eq!(learned.full_listing.as_ref().map(Vec::len), Some(50));
    let outcomes = plan.finish();
    let invited = outcomes
        .iter()
        .filter(|(_, o)| *o == Outcome::Invited)
        .count();
    assert_eq!(invited, 50);
}

#[test]
fn dry_run_invites_nothing_and_creates_nothing() {
    let mut r = request(&["111111111111", "222222222222"]);
    r.accounts[1].email = Email::Given("a@b.c".into());
    let mut opts = options();
    opts.dry_run = true;
    opts.detector_id = None;
    let mut plan = Plan::new(triage(&r, None), |_| None, opts);
    let rounds = run(&mut plan, &[]);
    assert!(
        rounds
            .iter()
            .flatten()
            .all(|c| matches!(c, Call::DescribeAccount { .. } | Call::ListDetectors))
    );
    assert_eq!(plan.detector_id(), Some("found"));
    assert!(
        plan.finish()
            .iter()
            .all(|(_, o)| *o == Outcome::WouldInvite)
    );
}

#[test]
fn email_accounts_are_created_only_when_not_yet_members() {
    let mut r = request(&["111111111111", "222222222222"]);
    r.accounts[0].email = Email::Given("a@b.c".into());
    r.accounts[1].email = Email::Given("d@e.f".into());
    let mut opts = options();
    opts.check_organizations = false;
    let mut plan = Plan::new(triage(&r, None), |_| None, opts);
    let calls = plan.next_calls(Phase::Normal);
    assert!(matches!(&calls[0].1, Call::GetMembers { account_ids, .. } if account_ids.len() == 2));
    plan.on_reply(
        calls[0].0,
        Reply::Members(Ok(vec![MemberRecord {
            account_id: "222222222222".into(),
            status: "Removed".into(),
            email: None,
            invited_at: None,
        }])),
    )
    .unwrap();
    let calls = plan.next_calls(Phase::Normal);
    assert_eq!(
        calls[0].1,
        Call::CreateMembers {
            detector_id: "det".into(),
            accounts: vec![("111111111111".into(), "a@b.c".into())]
        }
    );
    plan.on_reply(
        calls[0].0,
        Reply::Created(Ok(vec![Rejected {
            account_id: "111111111111".into(),
            result: "The request is rejected because the input account is already a member of the current account.".into(),
            already_member: true,
        }])),
    )
    .unwrap();
    let calls = plan.next_calls(Phase::Normal);
    assert!(
        matches!(&calls[0].1, Call::InviteMembers { account_ids, .. } if account_ids.len() == 2)
    );
}

#[test]
fn access_denied_before_any_change_fails_the_invocation() {
    let mut plan = Plan::new(
        triage(&request(&["111111111111"]), None),
        |_| None,
        options(),
    );
    let calls = plan.next_calls(Phase::Normal);
    let result = plan.on_reply(
        calls[0].0,
        Reply::Account(Err(OrgError::AccessDenied("no".into()))),
    );
    assert_eq!(result, Err(Fatal::OrganizationsAccessDenied("no".into())));
}

#[test]
fn an_unknown_membership_is_never_invited() {
    let mut plan = Plan::new(
        triage(&request(&["111111111111", "222222222222"]), None),
        |_| None,
        options(),
    );
    let calls = plan.next_calls(Phase::Normal);
    plan.on_reply(
        calls[0].0,
        Reply::Account(Err(OrgError::Other("ServiceException: boom".into()))),
    )
    .unwrap();
    plan.on_reply(calls[1].0, Reply::Account(Ok(Membership::NotMember)))
        .unwrap();
    let calls = plan.next_calls(Phase::Normal);
    assert!(
        matches!(&calls[0].1, Call::InviteMembers { account_ids, .. } if account_ids == &["222222222222"])
    );
    plan.on_reply(calls[0].0, Reply::Invited(Ok(vec![])))
        .unwrap();
    let outcomes = plan.finish();
    assert!(
        matches!(&outcomes[0].1, Outcome::Unprocessed(r) if r.contains("ServiceException: boom"))
    );
    assert_eq!(outcomes[1].1, Outcome::Invited);
}

#[test]
fn no_organization_means_everyone_is_invited() {
    let mut plan = Plan::new(
        triage(&request(&["111111111111", "222222222222"]), None),
        |_| None,
        options(),
    );
    let calls = plan.next_calls(Phase::Normal);
    plan.on_reply(calls[0].0, Reply::Account(Err(OrgError::NotInUse)))
        .unwrap();
    let calls = plan.next_calls(Phase::Normal);
    assert!(
        matches!(&calls[0].1, Call::InviteMembers { account_ids, .. } if account_ids.len() == 2)
    );
    assert!(plan.learned().no_organization);
}

#[test]
fn missing_detector_is_fatal_and_failed_lookup_is_per_account() {
    let mut opts = options();
    opts.detector_id = None;
    opts.check_organizations = false;
    let mut plan = Plan::new(
        triage(&request(&["111111111111"]), None),
        |_| None,
        opts.clone(),
    );
    let calls = plan.next_calls(Phase::Normal);
    assert_eq!(calls[0].1, Call::ListDetectors);
    assert_eq!(
        plan.on_reply(calls[0].0, Reply::Detectors(Ok(None))),
        Err(Fatal::DetectorNotFound)
    );

    let mut plan = Plan::new(triage(&request(&["111111111111"]), None), |_| None, opts);
    let calls = plan.next_calls(Phase::Normal);
    plan.on_reply(
        calls[0].0,
        Reply::Detectors(Err(CallError::new("InternalServerErrorException: x", true))),
    )
    .unwrap();
    assert!(plan.is_done());
    let outcomes = plan.finish();
    assert!(matches!(&outcomes[0].1, Outcome::Unprocessed(r) if r.contains("detector")));
}

#[test]
fn deadline_reports_waiting_and_in_flight_accounts() {
    let ids = account_ids(BASE, 12);
    let mut opts = options();
    opts.known_pages = Some(100);
    let mut plan = Plan::new(triage(&request(&ids), None), |_| None, opts);
    let first = plan.next_calls(Phase::Normal);
    assert_eq!(first.len(), 5);
    // Two answers come back, then time runs short.
    plan.on_reply(first[0].0, Reply::Account(Ok(Membership::NotMember)))
        .unwrap();
    plan.on_reply(first[1].0, Reply::Account(Ok(Membership::NotMember)))
        .unwrap();
    let flush = plan.next_calls(Phase::WrappingUp);
    assert!(
        matches!(&flush[0].1, Call::InviteMembers { account_ids, .. } if account_ids.len() == 2)
    );
    assert!(plan.next_calls(Phase::Stopped).is_empty());
    let outcomes = plan.finish();
    let reasons: Vec<&str> = outcomes
        .iter()
        .map(|(_, o)| match o {
            Outcome::Unprocessed(r) => r.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(reasons[0].starts_with("outcome unknown"));
    assert!(reasons[2].contains("still in flight"));
    assert!(reasons[11].contains("not attempted"));
    assert!(reasons.iter().all(|r| r.contains("retrying is safe")));
}
