//! The in-memory AWS: a [`World`] of accounts, members and faults, and the
//! [`FakeAws`] that answers every call from it and checks each call is one
//! AWS would take and the function may make.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::accounts::{ADMIN, OTHER_ADMIN, OWN_REGION, PerAccount, is_account_id};
use crate::aws::organizations::LIST_PAGE;
use crate::engine::Aws;
use crate::plan::{
    AccountsPage, BATCH, Call, CallError, Credentials, Invitation, MemberRecord, MemberSession,
    MemberStatus, Membership, OrgError, Rejected, Reply, Service,
};

/// What AWS does to one call, in [`World::faults`]' round-robin schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The call fails (a 5xx or throttling that outlasted the retries).
    Error,
    /// GuardDuty reports the first account of a create or invite unprocessed.
    Partial,
    /// Organizations denies access.
    Denied,
    /// The call answers after this many milliseconds (tokio's clock).
    Slow(u64),
}

/// What the fake AWS holds. The default: an organization none of the
/// accounts is in, the detector `det`, no GuardDuty members, every create and
/// invite accepted, no faults.
pub struct World {
    /// The organization's accounts; `None`: `AWSOrganizationsNotInUseException`.
    pub organization: Option<Vec<String>>,
    pub org_id: String,
    /// What `ListDetectors` finds.
    pub detector: Option<String>,
    /// The accounts GuardDuty has member records of, with their status.
    pub members: PerAccount<String>,
    /// Why `DescribeAccount` of an account fails, if it does.
    pub describe_errors: PerAccount<OrgError>,
    /// Why `CreateMembers` leaves an account unprocessed, if it does.
    pub create_refusals: PerAccount<String>,
    /// Why `InviteMembers` leaves an account unprocessed, if it does.
    pub invite_refusals: PerAccount<String>,
    /// One fault per call, round-robin; empty: none.
    pub faults: Vec<Fault>,
    /// What `ListRegions` lists as enabled.
    pub enabled_regions: Vec<String>,
    /// Regions where GuardDuty answers `UnrecognizedClientException`.
    pub refused_regions: Vec<String>,
    /// Regions where the administrator has no detector.
    pub regions_without_detector: Vec<String>,
    /// Member accounts whose role cannot be assumed (`AccessDenied`).
    pub no_role: PerAccount<bool>,
    /// Member accounts with no detector of their own.
    pub no_member_detector: PerAccount<bool>,
}

impl Default for World {
    fn default() -> Self {
        World {
            organization: Some(Vec::new()),
            org_id: "o-1".into(),
            detector: Some("det".into()),
            members: PerAccount::default(),
            describe_errors: PerAccount::default(),
            create_refusals: PerAccount::default(),
            invite_refusals: PerAccount::default(),
            faults: Vec::new(),
            enabled_regions: vec![OWN_REGION.into()],
            refused_regions: Vec::new(),
            regions_without_detector: Vec::new(),
            no_role: PerAccount::default(),
            no_member_detector: PerAccount::default(),
        }
    }
}

/// An in-memory AWS over a [`World`]. It records every call, and panics on a
/// call AWS would refuse or the function must never make: a member call of
/// other than 1 to 50 distinct valid account IDs, any call naming [`ADMIN`],
/// an organization member created or invited, an e-mail without `@`.
pub struct FakeAws {
    pub world: World,
    next_fault: AtomicUsize,
    calls: Mutex<Vec<Call>>,
}

impl FakeAws {
    pub fn new(world: World) -> Self {
        FakeAws {
            world,
            next_fault: AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Every call made so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// How many calls of `operation` (AWS's spelling) were made.
    pub fn made(&self, operation: &str) -> usize {
        let calls = self.calls.lock().unwrap();
        calls.iter().filter(|c| c.operation() == operation).count()
    }

    /// The answer to `call`, at once: a `Slow` fault is not waited for.
    pub fn answer(&self, call: &Call) -> Reply {
        self.respond(call).1
    }

    /// Records `call`, takes the next fault of the schedule, answers.
    fn respond(&self, call: &Call) -> (Fault, Reply) {
        self.calls.lock().unwrap().push(call.clone());
        let fault = match self.world.faults.len() {
            0 => Fault::None,
            n => self.world.faults[self.next_fault.fetch_add(1, Ordering::SeqCst) % n],
        };
        (fault, self.reply(call, fault))
    }

    fn reply(&self, call: &Call, fault: Fault) -> Reply {
        let w = &self.world;
        let failed = || CallError::new("InternalServerErrorException: boom", true);
        let org_error = match fault {
            Fault::Error => Some(OrgError::Other("ServiceException: boom".into())),
            Fault::Denied => Some(OrgError::AccessDenied("denied".into())),
            _ => None,
        };
        let partial = fault == Fault::Partial;
        match call {
            Call::DescribeAccount { account_id } => {
                check_batch("DescribeAccount", std::slice::from_ref(account_id));
                let org_id = Some(w.org_id.clone());
                let error = org_error.or_else(|| w.describe_errors.get(account_id));
                Reply::Account(match (error, &w.organization) {
                    (Some(e), _) => Err(e),
                    (None, None) => Err(OrgError::NotInUse),
                    (None, Some(org)) if org.contains(account_id) => {
                        Ok(Membership::Member { org_id })
                    }
                    (None, Some(_)) => Ok(Membership::NotMember),
                })
            }
            Call::ListAccounts { next_token } => {
                Reply::AccountsPage(match (org_error, &w.organization) {
                    (Some(e), _) => Err(e),
                    (None, None) => Err(OrgError::NotInUse),
                    (None, Some(org)) => {
                        let start = next_token
                            .as_deref()
                            .map_or(0, |t| t.parse().expect("a token this fake gave"));
                        let end = (start + LIST_PAGE as usize).min(org.len());
                        Ok(AccountsPage {
                            accounts: org[start..end]
                                .iter()
                                .map(|m| (m.clone(), Some(w.org_id.clone())))
                                .collect(),
                            next_token: (end < org.len()).then(|| end.to_string()),
                        })
                    }
                })
            }
            _ if call.service() == Service::GuardDuty
                && call
                    .region()
                    .is_some_and(|r| w.refused_regions.iter().any(|x| x == r)) =>
            {
                refused(call)
            }
            Call::ListDetectors { region } => Reply::Detectors(match fault {
                Fault::Error => Err(failed()),
                _ if w.regions_without_detector.contains(region) => Ok(None),
                _ => Ok(w.detector.clone()),
            }),
            Call::GetMembers { account_ids, .. } => {
                check_batch("GetMembers", account_ids);
                Reply::Members(match fault {
                    Fault::Error => Err(failed()),
                    _ => Ok(account_ids
                        .iter()
                        .filter_map(|id| {
                            Some(MemberRecord {
                                account_id: id.clone(),
                                status: MemberStatus::parse(&w.members.get(id)?),
                                email: Some(format!("{id}@recorded.example.com")),
                                invited_at: None,
                                administrator_id: Some(ADMIN.into()),
                            })
                        })
                        .collect()),
                })
            }
            Call::DeleteMembers { account_ids, .. } => {
                self.check_change("DeleteMembers", account_ids);
                Reply::Deleted(match fault {
                    Fault::Error => Err(failed()),
                    _ => Ok(Vec::new()),
                })
            }
            Call::CreateMembers { accounts, .. } => {
                let ids: Vec<String> = accounts.iter().map(|(id, _)| id.clone()).collect();
                self.check_change("CreateMembers", &ids);
                for (id, email) in accounts {
                    assert!(
                        !email.is_empty() && email.contains('@'),
                        "CreateMembers of {id} with e-mail {email:?}"
                    );
                }
                Reply::Created(match fault {
                    Fault::Error => Err(failed()),
                    _ => Ok(rejected(
                        &ids,
                        &w.create_refusals,
                        partial.then_some("The email address is invalid."),
                    )),
                })
            }
            Call::InviteMembers { account_ids, .. } => {
                self.check_change("InviteMembers", account_ids);
                Reply::Invited(match fault {
                    Fault::Error => Err(CallError::new(
                        "TooManyRequestsException: rate exceeded",
                        true,
                    )),
                    _ => Ok(rejected(
                        account_ids,
                        &w.invite_refusals,
                        partial.then_some("refused"),
                    )),
                })
            }
            Call::ListRegions => Reply::Regions(match fault {
                Fault::Error => Err(failed()),
                _ => Ok(w.enabled_regions.clone()),
            }),
            Call::CallerIdentity => Reply::Identity(Ok(ADMIN.into())),
            Call::AssumeRole { role_arn, .. } => {
                let account = role_arn.split(':').nth(4).unwrap_or_default().to_owned();
                self.check_change("AssumeRole", std::slice::from_ref(&account));
                Reply::Assumed(match fault {
                    Fault::Error => Err(failed()),
                    _ if w.no_role.get(&account).unwrap_or(false) => Err(CallError::new(
                        format!(
                            "AccessDenied: not authorized to perform: sts:AssumeRole on resource: {role_arn}"
                        ),
                        true,
                    )),
                    _ => Ok(Credentials::new(
                        "ASIAFAKE",
                        "secret",
                        Some(account),
                        None,
                        "fake",
                    )),
                })
            }
            Call::MemberDetectors { member, .. } => {
                let account = self.check_member(member);
                Reply::Detectors(match fault {
                    Fault::Error => Err(failed()),
                    _ if w.no_member_detector.get(&account).unwrap_or(false) => Ok(None),
                    _ => Ok(Some(format!("det-{account}"))),
                })
            }
            Call::CreateDetector { member, .. } => {
                let account = self.check_member(member);
                Reply::DetectorCreated(match fault {
                    Fault::Error => Err(failed()),
                    _ => Ok(format!("det-{account}")),
                })
            }
            Call::ListInvitations { member, .. } => {
                let account = self.check_member(member);
                Reply::Invitations(match fault {
                    Fault::Error => Err(failed()),
                    _ => Ok([OTHER_ADMIN, ADMIN]
                        .iter()
                        .map(|from| Invitation {
                            account_id: (*from).to_owned(),
                            invitation_id: format!("inv-{from}-{account}"),
                        })
                        .collect()),
                })
            }
            Call::AcceptInvitation {
                member,
                detector_id,
                administrator_id,
                invitation_id,
                ..
            } => {
                let account = self.check_member(member);
                assert_eq!(
                    administrator_id, ADMIN,
                    "an accept for another administrator"
                );
                assert_eq!(
                    invitation_id,
                    &format!("inv-{ADMIN}-{account}"),
                    "accepted another invitation"
                );
                assert_eq!(
                    detector_id,
                    &format!("det-{account}"),
                    "accepted with another detector"
                );
                Reply::Accepted(match fault {
                    Fault::Error => Err(failed()),
                    _ => Ok(()),
                })
            }
        }
    }

    /// A member-side call: with the credentials the fake gave that account,
    /// never in an organization member.
    fn check_member(&self, member: &MemberSession) -> String {
        let account = member.account_id.clone();
        self.check_change("a member-side call", std::slice::from_ref(&account));
        assert_eq!(
            member.credentials.session_token(),
            Some(account.as_str()),
            "member-side call with another account's credentials"
        );
        account
    }

    fn check_change(&self, operation: &str, ids: &[String]) {
        check_batch(operation, ids);
        let org = self.world.organization.as_deref().unwrap_or_default();
        for id in ids {
            assert!(!org.contains(id), "{operation} of organization member {id}");
        }
    }
}

/// GuardDuty's answer in an opt-in Region that is not enabled.
fn refused(call: &Call) -> Reply {
    let error = CallError {
        region_refused: true,
        ..CallError::new(
            "UnrecognizedClientException: The security token included in the request is invalid.",
            false,
        )
    };
    match call {
        Call::ListDetectors { .. } => Reply::Detectors(Err(error)),
        Call::GetMembers { .. } => Reply::Members(Err(error)),
        Call::DeleteMembers { .. } => Reply::Deleted(Err(error)),
        Call::CreateMembers { .. } => Reply::Created(Err(error)),
        _ => Reply::Invited(Err(error)),
    }
}

impl Aws for FakeAws {
    fn own_region(&self) -> Option<&str> {
        Some(OWN_REGION)
    }

    fn call(&self, call: Call) -> impl Future<Output = Reply> + Send {
        let (fault, reply) = self.respond(&call);
        async move {
            if let Fault::Slow(ms) = fault {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            reply
        }
    }
}

/// 1 to [`BATCH`] distinct valid account IDs, none of them [`ADMIN`].
fn check_batch(operation: &str, ids: &[String]) {
    assert!(
        (1..=BATCH).contains(&ids.len()),
        "{operation} with {} accounts",
        ids.len()
    );
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        distinct.len(),
        ids.len(),
        "{operation} names an account twice"
    );
    for id in ids {
        assert!(is_account_id(id), "{operation} with account {id:?}");
        assert_ne!(
            id, ADMIN,
            "{operation} with the administrator's own account"
        );
    }
}

/// The accounts of `ids` left unprocessed: by `refusals`, and the first one
/// with `partial`'s result if given.
fn rejected(ids: &[String], refusals: &PerAccount<String>, partial: Option<&str>) -> Vec<Rejected> {
    ids.iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let result = match partial {
                Some(result) if i == 0 => result.to_owned(),
                _ => refusals.get(id)?,
            };
            Some(Rejected {
                account_id: id.clone(),
                result,
                already_member: false,
            })
        })
        .collect()
}
