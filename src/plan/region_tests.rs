//! The plan over several Regions, driven by hand with no I/O: one lookup for
//! all, one pipeline each, the one-e-mail rule, unavailable Regions.

use super::*;
use crate::event::{Email, Named, Request};
use crate::response::FailCode;
use crate::testing::{FakeAws, PerAccount, World};

pub(super) fn request(ids: &[&str]) -> Request {
    Request {
        accounts: ids
            .iter()
            .map(|id| Named {
                account_id: id.to_string(),
                email: Email::NotGiven,
            })
            .collect(),
        ..Request::default()
    }
}

/// Options for `regions`, each with the detector `det`.
pub(super) fn options(regions: &[&str]) -> Options {
    Options {
        slots: 5,
        dry_run: false,
        message: None,
        disable_email_notification: false,
        check_organizations: true,
        known_pages: None,
        regions: regions
            .iter()
            .map(|name| RegionSetup {
                name: (*name).into(),
                detector_id: Some("det".into()),
            })
            .collect(),
        multi_region: true,
        member_role: None,
    }
}

/// Runs the plan to the end against `aws` in rounds: all calls it allows,
/// then all answers. Returns the calls made per round.
pub(super) fn rounds(plan: &mut Plan, aws: &FakeAws) -> Vec<Vec<Call>> {
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

/// Each Region's outcomes by account ID.
pub(super) fn by_region(finished: &[Finished]) -> HashMap<(&str, &str), &Outcome> {
    finished
        .iter()
        .flat_map(|f| {
            f.outcomes
                .iter()
                .map(move |(id, o)| ((f.region.as_str(), id.as_str()), o))
        })
        .collect()
}

fn removed_members() -> World {
    World {
        organization: Some(vec!["222222222222".into()]),
        members: PerAccount::by(|_| Some("Removed".into())),
        ..World::default()
    }
}

#[test]
fn one_lookup_serves_every_region_and_each_region_invites() {
    let ids = ["111111111111", "222222222222", "333333333333"];
    let aws = FakeAws::new(removed_members());
    let regions = ["eu-west-1", "us-east-1", "ap-south-1"];
    let mut plan = Plan::new(triage(&request(&ids), None), |_| None, options(&regions));
    rounds(&mut plan, &aws);
    assert_eq!(
        aws.made("DescribeAccount"),
        3,
        "Organizations asked once per account"
    );
    assert_eq!(aws.made("GetMembers"), 3);
    assert_eq!(aws.made("InviteMembers"), 3);
    let finished = plan.finish_regions();
    assert_eq!(
        finished
            .iter()
            .map(|f| f.region.as_str())
            .collect::<Vec<_>>(),
        regions
    );
    let outcomes = by_region(&finished);
    for region in regions {
        assert_eq!(*outcomes[&(region, "111111111111")], Outcome::Invited);
        assert!(matches!(
            outcomes[&(region, "222222222222")],
            Outcome::Skipped {
                code: SkipCode::OrganizationMember,
                ..
            }
        ));
        assert_eq!(*outcomes[&(region, "333333333333")], Outcome::Invited);
    }
    for call in aws.calls() {
        if let Call::InviteMembers { account_ids, .. } = &call {
            assert!(!account_ids.contains(&"222222222222".to_string()));
        }
    }
}

/// The e-mail goes out in the first Region (response order) that invites an
/// account, whatever the order the answers come in.
#[test]
fn the_invitation_email_goes_out_once_in_the_first_region_that_invites() {
    let (x, y) = ("111111111111", "333333333333");
    let mut opts = options(&["eu-west-1", "us-east-1"]);
    opts.check_organizations = false;
    let mut plan = Plan::new(triage(&request(&[x, y]), None), |_| None, opts);
    let reads = plan.next_calls(Phase::Normal);
    assert_eq!(reads.len(), 2, "one read per Region: {reads:?}");
    let region = |c: &Call| c.region().unwrap().to_owned();
    let record = |id: &str, status| MemberRecord {
        account_id: id.into(),
        status,
        email: None,
        invited_at: None,
        administrator_id: None,
    };
    // The second Region answers first: X and Y are invitable there.
    let (first, second) = if region(&reads[0].1) == "eu-west-1" {
        (&reads[0], &reads[1])
    } else {
        (&reads[1], &reads[0])
    };
    let both = vec![
        record(x, MemberStatus::Removed),
        record(y, MemberStatus::Removed),
    ];
    plan.on_reply(second.0, Reply::Members(Ok(both))).unwrap();
    assert!(
        plan.next_calls(Phase::Normal).is_empty(),
        "us-east-1 waits to know whether eu-west-1 invites them"
    );
    // In the first Region, X is enabled already and Y is invitable.
    let first_records = vec![
        record(x, MemberStatus::Enabled),
        record(y, MemberStatus::Removed),
    ];
    plan.on_reply(first.0, Reply::Members(Ok(first_records)))
        .unwrap();
    let invites: Vec<(String, Vec<String>, bool)> = plan
        .next_calls(Phase::Normal)
        .into_iter()
        .filter_map(|(_, call)| match call {
            Call::InviteMembers {
                region,
                account_ids,
                disable_email_notification,
                ..
            } => Some((region, account_ids, disable_email_notification)),
            _ => None,
        })
        .collect();
    let mut invites = invites;
    invites.sort();
    assert_eq!(
        invites,
        [
            ("eu-west-1".into(), vec![y.to_string()], false),
            ("us-east-1".into(), vec![x.to_string()], false),
            ("us-east-1".into(), vec![y.to_string()], true),
        ]
    );
}

#[test]
fn with_notification_off_every_invitation_is_quiet() {
    let aws = FakeAws::new(removed_members());
    let mut opts = options(&["eu-west-1", "us-east-1"]);
    opts.disable_email_notification = true;
    let mut plan = Plan::new(triage(&request(&["111111111111"]), None), |_| None, opts);
    rounds(&mut plan, &aws);
    let quiet: Vec<bool> = aws
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::InviteMembers {
                disable_email_notification,
                ..
            } => Some(disable_email_notification),
            _ => None,
        })
        .collect();
    assert_eq!(quiet, [true, true]);
}

#[test]
fn a_refused_or_detectorless_region_is_unavailable_and_the_others_go_on() {
    let aws = FakeAws::new(World {
        refused_regions: vec!["ap-east-1".into()],
        regions_without_detector: vec!["eu-west-2".into()],
        ..removed_members()
    });
    let ids = ["111111111111", "222222222222", "12345"];
    let mut opts = options(&["us-east-1", "ap-east-1", "eu-west-2"]);
    opts.regions[2].detector_id = None;
    let mut plan = Plan::new(triage(&request(&ids), None), |_| None, opts);
    rounds(&mut plan, &aws);
    let finished = plan.finish_regions();
    assert_eq!(finished[0].detector_id.as_deref(), Some("det"));
    assert_eq!(finished[1].detector_id, None);
    assert_eq!(finished[2].detector_id, None);
    let outcomes = by_region(&finished);
    assert_eq!(*outcomes[&("us-east-1", "111111111111")], Outcome::Invited);
    for region in ["ap-east-1", "eu-west-2"] {
        let Outcome::Unprocessed {
            code,
            result,
            retryable,
        } = outcomes[&(region, "111111111111")]
        else {
            panic!("{region}: {:?}", outcomes[&(region, "111111111111")]);
        };
        assert_eq!((*code, *retryable), (FailCode::RegionUnavailable, false));
        assert!(result.contains(region), "{result}");
        // What the account itself is decides first, in every Region.
        assert!(matches!(
            outcomes[&(region, "222222222222")],
            Outcome::Skipped {
                code: SkipCode::OrganizationMember,
                ..
            }
        ));
        assert!(matches!(
            outcomes[&(region, "12345")],
            Outcome::Unprocessed {
                code: FailCode::InvalidAccountId,
                ..
            }
        ));
    }
    let refused_writes = aws
        .calls()
        .into_iter()
        .filter(|c| c.region() == Some("ap-east-1") && c.operation() != "GetMembers")
        .count();
    assert_eq!(refused_writes, 0, "nothing written where GuardDuty refuses");
}

#[test]
fn a_missing_detector_fails_a_single_region_invocation() {
    let aws = FakeAws::new(World {
        detector: None,
        ..removed_members()
    });
    let mut opts = options(&["us-east-1"]);
    opts.multi_region = false;
    opts.regions[0].detector_id = None;
    let mut plan = Plan::new(triage(&request(&["111111111111"]), None), |_| None, opts);
    let mut fatal = None;
    'run: loop {
        let calls = plan.next_calls(Phase::Normal);
        if calls.is_empty() {
            break;
        }
        for (id, call) in &calls {
            if let Err(e) = plan.on_reply(*id, aws.answer(call)) {
                fatal = Some(e);
                break 'run;
            }
        }
    }
    assert_eq!(fatal, Some(Fatal::DetectorNotFound));
}
