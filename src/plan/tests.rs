//! The plan's unit tests: the plan driven by hand, with no I/O.

use super::region_tests::request;
use super::*;
use crate::event::Email;
use crate::response::{FailCode, SkipCode};
use crate::testing::{FakeAws, PerAccount, World};

/// One Region, the single-Region response, detector `det`.
fn options() -> Options {
    Options {
        multi_region: false,
        ..region_tests::options(&[REGION])
    }
}

const REGION: &str = crate::testing::OWN_REGION;

fn id(n: usize) -> String {
    format!("{:012}", 100_000_000_000 + n)
}

/// A GuardDuty member record.
fn record(account_id: &str, status: MemberStatus) -> MemberRecord {
    MemberRecord {
        account_id: account_id.into(),
        status,
        email: Some("old@example.com".into()),
        invited_at: None,
        administrator_id: None,
    }
}

/// This test world's member status of an account: accounts whose ID starts
/// with 3 are not GuardDuty members, all others are `Removed` ones.
fn status_of(id: &str) -> Option<String> {
    (!id.starts_with('3')).then(|| "Removed".to_owned())
}

/// The records of `ids` as this test world has them ([`status_of`]).
fn records(ids: &[String]) -> Vec<MemberRecord> {
    ids.iter()
        .filter_map(|id| Some(record(id, MemberStatus::parse(&status_of(id)?))))
        .collect()
}

/// The message (result or reason) of an outcome that has one.
fn text(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Unprocessed { result, .. } => result,
        Outcome::Skipped { reason, .. } => reason,
        other => panic!("{other:?}"),
    }
}

/// The shared fake over this test world: `members` are in the organization,
/// the rest are not; GuardDuty has the records of [`status_of`] and accepts
/// everything.
fn fake(members: &[String]) -> FakeAws {
    FakeAws::new(World {
        organization: Some(members.to_vec()),
        detector: Some("found".into()),
        members: PerAccount::by(status_of),
        ..World::default()
    })
}

/// Answers one call at once, as [`fake`] would.
fn answer(call: &Call, members: &[String]) -> Reply {
    fake(members).answer(call)
}

/// Runs the plan to the end in rounds against [`fake`]. Returns the calls
/// made per round.
fn run(plan: &mut Plan, members: &[String]) -> Vec<Vec<Call>> {
    region_tests::rounds(plan, &fake(members))
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
        Triaged::Decided(Outcome::Unprocessed { result, .. }) => result.clone(),
        other => panic!("{other:?}"),
    };
    let code = |i: usize| match &t[i].1 {
        Triaged::Decided(Outcome::Unprocessed {
            code, retryable, ..
        }) => (*code, *retryable),
        other => panic!("{other:?}"),
    };
    assert_eq!(code(0), (FailCode::InvalidAccountId, false));
    assert_eq!(code(1), (FailCode::OwnAccount, false));
    assert_eq!(code(3), (FailCode::InvalidEmail, false));
    assert_eq!(code(4), (FailCode::InvalidEmail, false));
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
    let ids: Vec<String> = (0..260).map(id).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut opts = options();
    opts.check_organizations = false;
    let mut plan = Plan::new(triage(&request(&refs), None), |_| None, opts);
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
    let ids: Vec<String> = (0..8).map(id).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let members = vec![ids[1].clone(), ids[5].clone()];
    let mut plan = Plan::new(triage(&request(&refs), None), |_| None, options());
    assert_eq!(plan.strategy(), Strategy::Describe);
    let rounds = run(&mut plan, &members);
    // Two rounds of describes, then one invite of the six outside.
    assert_eq!(rounds.len(), 3, "{rounds:?}");
    let outcomes = plan.finish();
    for (i, (_, outcome)) in outcomes.iter().enumerate() {
        if i == 1 || i == 5 {
            assert_eq!(
                *outcome,
                Outcome::skipped(
                    SkipCode::OrganizationMember,
                    "managed by AWS Organizations (o-1)"
                )
            );
        } else {
            assert_eq!(*outcome, Outcome::Invited);
        }
    }
}

#[test]
fn the_listing_settles_everyone_and_follows_tokens() {
    let ids: Vec<String> = (0..100).map(id).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let members: Vec<String> = ids.iter().step_by(2).cloned().collect();
    let mut opts = options();
    opts.known_pages = Some(3);
    let mut plan = Plan::new(triage(&request(&refs), None), |_| None, opts);
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
    opts.regions[0].detector_id = None;
    let mut plan = Plan::new(triage(&r, None), |_| None, opts);
    let rounds = run(&mut plan, &[]);
    assert!(rounds.iter().flatten().all(|c| matches!(
        c,
        Call::DescribeAccount { .. } | Call::ListDetectors { .. } | Call::GetMembers { .. }
    )));
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
        Reply::Members(Ok(vec![record("222222222222", MemberStatus::Removed)])),
    )
    .unwrap();
    let calls = plan.next_calls(Phase::Normal);
    assert_eq!(
        calls[0].1,
        Call::CreateMembers {
            region: REGION.into(),
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
    let Call::GetMembers { account_ids, .. } = &calls[2].1 else {
        panic!("{calls:?}")
    };
    plan.on_reply(calls[2].0, Reply::Members(Ok(records(account_ids))))
        .unwrap();
    let calls = plan.next_calls(Phase::Normal);
    assert!(
        matches!(&calls[0].1, Call::InviteMembers { account_ids, .. } if account_ids == &["222222222222"])
    );
    plan.on_reply(calls[0].0, Reply::Invited(Ok(vec![])))
        .unwrap();
    let outcomes = plan.finish();
    assert!(text(&outcomes[0].1).contains("ServiceException: boom"));
    assert!(matches!(
        outcomes[0].1,
        Outcome::Unprocessed {
            code: FailCode::MembershipUnknown,
            retryable: true,
            ..
        }
    ));
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
    let read = calls.last().unwrap();
    let Call::GetMembers { account_ids, .. } = &read.1 else {
        panic!("{calls:?}")
    };
    plan.on_reply(read.0, Reply::Members(Ok(records(account_ids))))
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
    opts.regions[0].detector_id = None;
    opts.check_organizations = false;
    let mut plan = Plan::new(
        triage(&request(&["111111111111"]), None),
        |_| None,
        opts.clone(),
    );
    let calls = plan.next_calls(Phase::Normal);
    assert_eq!(
        calls[0].1,
        Call::ListDetectors {
            region: REGION.into()
        }
    );
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
    assert!(text(&outcomes[0].1).contains("detector"));
    assert!(matches!(
        outcomes[0].1,
        Outcome::Unprocessed {
            code: FailCode::CallFailed,
            retryable: true,
            ..
        }
    ));
}

#[test]
fn deadline_reports_waiting_and_in_flight_accounts() {
    let ids: Vec<String> = (0..12).map(id).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut opts = options();
    opts.known_pages = Some(100);
    let mut plan = Plan::new(triage(&request(&refs), None), |_| None, opts);
    let first = plan.next_calls(Phase::Normal);
    // Five lookups, and the member records read side by side.
    assert_eq!(first.len(), 6);
    let Call::GetMembers { account_ids, .. } = &first[5].1 else {
        panic!("{first:?}")
    };
    plan.on_reply(first[5].0, Reply::Members(Ok(records(account_ids))))
        .unwrap();
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
    let reasons: Vec<&str> = outcomes.iter().map(|(_, o)| text(o)).collect();
    let code = |i: usize| match &outcomes[i].1 {
        Outcome::Unprocessed {
            code, retryable, ..
        } => (*code, *retryable),
        other => panic!("{other:?}"),
    };
    assert_eq!(code(0), (FailCode::OutcomeUnknown, true));
    assert_eq!(code(2), (FailCode::MembershipUnknown, true));
    assert_eq!(code(11), (FailCode::NotAttempted, true));
    assert!(reasons[0].starts_with("outcome unknown"));
    assert!(reasons[2].contains("still in flight"));
    assert!(reasons[11].contains("not attempted"));
    assert!(reasons.iter().all(|r| r.contains("retrying is safe")));
}

/// The calls of each operation, over all rounds.
fn count(rounds: &[Vec<Call>], operation: &str) -> usize {
    rounds
        .iter()
        .flatten()
        .filter(|c| c.operation() == operation)
        .count()
}

#[test]
fn member_records_are_read_side_by_side_with_the_lookup() {
    let ids: Vec<String> = (0..8).map(id).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut plan = Plan::new(triage(&request(&refs), None), |_| None, options());
    let first = plan.next_calls(Phase::Normal);
    let ops: Vec<&str> = first.iter().map(|(_, c)| c.operation()).collect();
    assert_eq!(
        ops,
        ["DescribeAccount"; 5]
            .iter()
            .copied()
            .chain(["GetMembers"])
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_record_read_for_an_organization_member_is_never_acted_on() {
    let ids: Vec<String> = (0..8).map(id).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let members = ids.clone();
    let mut plan = Plan::new(triage(&request(&refs), None), |_| None, options());
    let rounds = run(&mut plan, &members);
    assert_eq!(count(&rounds, "GetMembers"), 1);
    assert_eq!(
        count(&rounds, "InviteMembers") + count(&rounds, "CreateMembers"),
        0
    );
    assert_eq!(plan.detector_id(), None, "no account needed GuardDuty");
    assert!(plan.finish().iter().all(|(_, o)| matches!(
        o,
        Outcome::Skipped {
            code: SkipCode::OrganizationMember,
            ..
        }
    )));
}

#[test]
fn the_detector_is_looked_up_only_when_an_account_needs_it() {
    let mut opts = options();
    opts.regions[0].detector_id = None;
    let mut plan = Plan::new(triage(&request(&["111111111111"]), None), |_| None, opts);
    let rounds = run(&mut plan, &["111111111111".to_string()]);
    assert_eq!(
        count(&rounds, "ListDetectors") + count(&rounds, "GetMembers"),
        0
    );
}

#[test]
fn a_failed_verification_with_a_new_email_is_deleted_created_and_invited() {
    let mut r = request(&["111111111111"]);
    r.accounts[0].email = Email::Given("new@example.com".into());
    let mut opts = options();
    opts.check_organizations = false;
    let mut plan = Plan::new(triage(&r, None), |_| None, opts);
    let calls = plan.next_calls(Phase::Normal);
    plan.on_reply(
        calls[0].0,
        Reply::Members(Ok(vec![record(
            "111111111111",
            MemberStatus::EmailVerificationFailed,
        )])),
    )
    .unwrap();
    let mut ops = Vec::new();
    loop {
        let calls = plan.next_calls(Phase::Normal);
        let Some((id, call)) = calls.into_iter().next() else {
            break;
        };
        ops.push(call.operation());
        if let Call::CreateMembers { accounts, .. } = &call {
            assert_eq!(
                accounts,
                &[("111111111111".to_string(), "new@example.com".to_string())]
            );
        }
        plan.on_reply(id, answer(&call, &[])).unwrap();
    }
    assert_eq!(ops, ["DeleteMembers", "CreateMembers", "InviteMembers"]);
    assert_eq!(plan.finish()[0].1, Outcome::Invited);
}

#[test]
fn a_dry_run_reads_and_decides_but_writes_nothing() {
    let mut r = request(&["111111111111", "311111111111", "322222222222"]);
    r.accounts[2].email = Email::Given("a@example.com".into());
    let mut opts = options();
    opts.dry_run = true;
    opts.check_organizations = false;
    let mut plan = Plan::new(triage(&r, None), |_| None, opts);
    let rounds = run(&mut plan, &[]);
    assert_eq!(count(&rounds, "GetMembers"), 1);
    assert_eq!(rounds.iter().flatten().count(), 1, "{rounds:?}");
    let outcomes = plan.finish();
    assert_eq!(outcomes[0].1, Outcome::WouldInvite);
    assert!(matches!(
        outcomes[1].1,
        Outcome::Unprocessed {
            code: FailCode::EmailRequired,
            retryable: false,
            ..
        }
    ));
    assert_eq!(outcomes[2].1, Outcome::WouldInvite);
}

/// A plan for `ids` with `ORGANIZATIONS_CHECK=off`, and its first calls.
fn outside_the_organization(ids: &[&str]) -> (Plan, Vec<(CallId, Call)>) {
    let mut opts = options();
    opts.check_organizations = false;
    let mut plan = Plan::new(triage(&request(ids), None), |_| None, opts);
    let calls = plan.next_calls(Phase::Normal);
    (plan, calls)
}

#[test]
fn failed_reads_and_rejections_carry_their_codes() {
    let (mut plan, calls) = outside_the_organization(&["111111111111", "222222222222"]);
    plan.on_reply(
        calls[0].0,
        Reply::Members(Ok(records(&["111111111111".into()]))),
    )
    .unwrap();
    let calls = plan.next_calls(Phase::Normal);
    assert!(
        matches!(&calls[..], [(_, Call::InviteMembers { account_ids, .. })] if account_ids == &["111111111111"]),
        "222222222222 has no record and no e-mail: {calls:?}"
    );
    let outcomes = plan.finish();
    assert!(matches!(
        outcomes[1].1,
        Outcome::Unprocessed {
            code: FailCode::EmailRequired,
            ..
        }
    ));

    let (mut plan, calls) = outside_the_organization(&["111111111111", "222222222222"]);
    plan.on_reply(
        calls[0].0,
        Reply::Members(Err(CallError::new("AccessDeniedException: no", false))),
    )
    .unwrap();
    assert!(plan.is_done());
    for (_, o) in plan.finish() {
        assert!(
            matches!(o, Outcome::Unprocessed { code: FailCode::CallFailed, retryable: false, ref result } if result.starts_with("GetMembers failed"))
        );
    }

    let (mut plan, calls) = outside_the_organization(&["111111111111", "122222222222"]);
    plan.on_reply(calls[0].0, answer(&calls[0].1, &[])).unwrap();
    let calls = plan.next_calls(Phase::Normal);
    let refusal = "The request is rejected because the current account has already invited or is already the GuardDuty master of the given member account ID.";
    plan.on_reply(
        calls[0].0,
        Reply::Invited(Ok(vec![Rejected {
            account_id: "122222222222".into(),
            result: refusal.into(),
            already_member: false,
        }])),
    )
    .unwrap();
    let outcomes = plan.finish();
    assert_eq!(outcomes[0].1, Outcome::Invited);
    assert_eq!(outcomes[1].1, Outcome::failed(FailCode::Rejected, refusal));
}
