//! The member side, driven by hand with no I/O: credentials once per
//! account, the member's detector before the invitation, the
//! administrator's invitation and no other accepted.

use super::region_tests::{by_region, options, request, rounds};
use super::*;
use crate::response::FailCode;
use crate::testing::{ADMIN, FakeAws, PerAccount, World};

fn role(create_detectors: bool) -> MemberRole {
    MemberRole {
        partition: "aws".into(),
        name: "security/GuardDutyInviterMember".into(),
        external_id: Some("ext".into()),
        create_detectors,
        administrator: Some(ADMIN.into()),
    }
}

fn with_role(regions: &[&str], create_detectors: bool) -> Options {
    Options {
        member_role: Some(role(create_detectors)),
        ..options(regions)
    }
}

/// `111…` is Removed, `141…` Invited, `333…` not a member (with an e-mail),
/// `222…` in the organization.
fn world() -> World {
    World {
        organization: Some(vec!["222222222222".into()]),
        members: PerAccount::by(|id| match &id[..3] {
            "111" => Some("Removed".into()),
            "141" => Some("Invited".into()),
            _ => None,
        }),
        ..World::default()
    }
}

fn ops(aws: &FakeAws, account: &str) -> Vec<&'static str> {
    aws.calls()
        .into_iter()
        .filter(|c| match c {
            Call::AssumeRole { role_arn, .. } => role_arn.contains(account),
            Call::MemberDetectors { member, .. }
            | Call::CreateDetector { member, .. }
            | Call::ListInvitations { member, .. }
            | Call::AcceptInvitation { member, .. } => member.account_id == account,
            Call::InviteMembers { account_ids, .. } => account_ids.iter().any(|a| a == account),
            _ => false,
        })
        .map(|c| c.operation())
        .collect()
}

fn code(outcome: &Outcome) -> Option<FailCode> {
    match outcome {
        Outcome::Unprocessed { code, .. } => Some(*code),
        _ => None,
    }
}

#[test]
fn the_member_accepts_the_administrators_invitation_in_order() {
    let aws = FakeAws::new(world());
    let mut plan = Plan::new(
        triage(&request(&["111111111111", "222222222222"]), None),
        |_| None,
        with_role(&["us-east-1"], false),
    );
    rounds(&mut plan, &aws);
    assert_eq!(
        ops(&aws, "111111111111"),
        [
            "AssumeRole",
            "ListDetectors",
            "InviteMembers",
            "ListInvitations",
            "AcceptAdministratorInvitation"
        ]
    );
    let role_arn = aws.calls().into_iter().find_map(|c| match c {
        Call::AssumeRole {
            role_arn,
            external_id,
        } => Some((role_arn, external_id)),
        _ => None,
    });
    assert_eq!(
        role_arn,
        Some((
            "arn:aws:iam::111111111111:role/security/GuardDutyInviterMember".into(),
            Some("ext".into())
        ))
    );
    assert!(
        ops(&aws, "222222222222").is_empty(),
        "never an organization member"
    );
    let outcomes = plan.finish();
    assert_eq!(outcomes[0].1, Outcome::Enabled);
}

#[test]
fn an_invited_member_only_accepts_and_one_role_serves_every_region() {
    let aws = FakeAws::new(world());
    let regions = ["eu-west-1", "us-east-1", "ap-south-1"];
    let mut plan = Plan::new(
        triage(&request(&["141414141414"]), None),
        |_| None,
        with_role(&regions, false),
    );
    rounds(&mut plan, &aws);
    let made = ops(&aws, "141414141414");
    assert_eq!(made.iter().filter(|o| **o == "AssumeRole").count(), 1);
    assert!(!made.contains(&"InviteMembers"), "{made:?}");
    assert_eq!(
        made.iter()
            .filter(|o| **o == "AcceptAdministratorInvitation")
            .count(),
        3
    );
    for f in plan.finish_regions() {
        assert_eq!(f.outcomes[0].1, Outcome::Enabled, "{}", f.region);
    }
}

#[test]
fn without_a_role_to_assume_the_account_is_invited_and_ends_accept_failed() {
    let aws = FakeAws::new(World {
        no_role: PerAccount::by(|_| Some(true)),
        ..world()
    });
    let mut plan = Plan::new(
        triage(&request(&["111111111111", "141414141414"]), None),
        |_| None,
        with_role(&["us-east-1"], false),
    );
    rounds(&mut plan, &aws);
    assert_eq!(ops(&aws, "111111111111"), ["AssumeRole", "InviteMembers"]);
    assert_eq!(ops(&aws, "141414141414"), ["AssumeRole"]);
    let outcomes = plan.finish();
    for (id, outcome) in &outcomes {
        let Outcome::Unprocessed {
            code,
            result,
            retryable,
        } = outcome
        else {
            panic!("{id}: {outcome:?}");
        };
        assert_eq!((*code, *retryable), (FailCode::AcceptFailed, true));
        assert!(result.contains("sts:AssumeRole"), "{result}");
    }
    assert!(text(&outcomes[0].1).starts_with("invited, but not accepted"));
    assert!(text(&outcomes[1].1).contains("pending"));
}

fn text(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Unprocessed { result, .. } => result,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_member_without_a_detector_is_not_invited_unless_one_may_be_created() {
    let world = || World {
        no_member_detector: PerAccount::by(|_| Some(true)),
        ..world()
    };
    let ids = ["111111111111", "141414141414"];
    let aws = FakeAws::new(world());
    let mut plan = Plan::new(
        triage(&request(&ids), None),
        |_| None,
        with_role(&["us-east-1"], false),
    );
    rounds(&mut plan, &aws);
    assert_eq!(aws.made("InviteMembers"), 0);
    assert_eq!(aws.made("CreateDetector"), 0);
    for (_, outcome) in plan.finish() {
        assert_eq!(code(&outcome), Some(FailCode::MemberDetectorMissing));
    }

    let aws = FakeAws::new(world());
    let mut plan = Plan::new(
        triage(&request(&ids), None),
        |_| None,
        with_role(&["us-east-1"], true),
    );
    rounds(&mut plan, &aws);
    assert_eq!(
        ops(&aws, "111111111111"),
        [
            "AssumeRole",
            "ListDetectors",
            "CreateDetector",
            "InviteMembers",
            "ListInvitations",
            "AcceptAdministratorInvitation"
        ]
    );
    for (_, outcome) in plan.finish() {
        assert_eq!(outcome, Outcome::Enabled);
    }
}

#[test]
fn a_dry_run_makes_no_member_call() {
    let aws = FakeAws::new(world());
    let mut opts = with_role(&["us-east-1"], true);
    opts.dry_run = true;
    let mut plan = Plan::new(
        triage(&request(&["111111111111", "141414141414"]), None),
        |_| None,
        opts,
    );
    rounds(&mut plan, &aws);
    for call in aws.calls() {
        assert!(
            matches!(call.service(), Service::Organizations | Service::GuardDuty),
            "{call:?}"
        );
        assert!(call.operation() != "InviteMembers");
    }
    let outcomes = plan.finish();
    assert_eq!(outcomes[0].1, Outcome::WouldInvite);
    assert!(matches!(
        outcomes[1].1,
        Outcome::Skipped {
            code: SkipCode::InvitationPending,
            ..
        }
    ));
}

/// Neither the ARN nor STS named the administrator: a member record read
/// names it; with no record to read, nothing is accepted.
#[test]
fn an_unknown_administrator_is_learned_from_a_record_or_nothing_is_accepted() {
    let unknown = || {
        let mut opts = with_role(&["us-east-1"], false);
        if let Some(role) = &mut opts.member_role {
            role.administrator = None;
        }
        opts
    };
    let aws = FakeAws::new(world());
    let ids = ["111111111111", "141414141414"];
    let mut plan = Plan::new(triage(&request(&ids), None), |_| None, unknown());
    rounds(&mut plan, &aws);
    for (_, outcome) in plan.finish() {
        assert_eq!(outcome, Outcome::Enabled);
    }

    let aws = FakeAws::new(world());
    let mut r = request(&["333333333333"]);
    r.accounts[0].email = crate::event::Email::Given("new@example.com".into());
    let mut plan = Plan::new(triage(&r, None), |_| None, unknown());
    rounds(&mut plan, &aws);
    assert_eq!(aws.made("AcceptAdministratorInvitation"), 0);
    assert_eq!(aws.made("ListInvitations"), 0);
    let outcome = &plan.finish()[0].1;
    assert_eq!(code(outcome), Some(FailCode::AcceptFailed));
    assert!(text(outcome).contains("administrator account is not known"));
}

/// Stopped at each point of the chain in turn: every account still ends
/// exactly once, and what was invited is never reported as not invited.
#[test]
fn the_deadline_anywhere_in_the_accept_chain_loses_no_account() {
    let ids = ["111111111111", "141414141414", "333333333333"];
    let regions = ["eu-west-1", "us-east-1"];
    for stop_after in 0..8 {
        let aws = FakeAws::new(world());
        let mut r = request(&ids);
        r.accounts[2].email = crate::event::Email::Given("new@example.com".into());
        let mut plan = Plan::new(triage(&r, None), |_| None, with_role(&regions, false));
        let mut invited = Vec::new();
        for round in 0..stop_after {
            let calls = plan.next_calls(Phase::Normal);
            if calls.is_empty() {
                break;
            }
            // The last round's calls stay in flight.
            if round + 1 == stop_after {
                break;
            }
            for (id, call) in &calls {
                if let Call::InviteMembers {
                    region,
                    account_ids,
                    ..
                } = call
                {
                    invited.extend(account_ids.iter().map(|a| (region.clone(), a.clone())));
                }
                plan.on_reply(*id, aws.answer(call)).unwrap();
            }
        }
        assert!(plan.next_calls(Phase::Stopped).is_empty());
        let finished = plan.finish_regions();
        assert_eq!(finished.len(), 2);
        let outcomes = by_region(&finished);
        assert_eq!(outcomes.len(), ids.len() * regions.len());
        for ((region, id), outcome) in outcomes {
            if invited.iter().any(|(r, i)| r == region && i == id) {
                assert!(
                    !matches!(code(outcome), Some(FailCode::NotAttempted)),
                    "{id} was invited, but reported not attempted (stop after {stop_after})"
                );
            }
            if let Outcome::Unprocessed { retryable, .. } = outcome {
                assert!(retryable, "{id}: {outcome:?} (stop after {stop_after})");
            }
        }
    }
}
