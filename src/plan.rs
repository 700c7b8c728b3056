//! The decisions, without the I/O: which account goes where, which AWS call
//! to make next, and what each answer means for the accounts it covered.
//!
//! [`triage`] applies the rows of SPEC.md's per-account table that need no
//! AWS call. [`Plan`] is a state machine over the rest: the engine asks it for
//! the calls it may start ([`Plan::next_calls`]), feeds it each answer
//! ([`Plan::on_reply`]), and finally takes one [`Outcome`] per account
//! ([`Plan::finish`]). Every account ends in exactly one outcome because the
//! plan keeps one stage per account and only [`Plan::finish`] reads them out.

use std::collections::{HashMap, VecDeque};

use crate::event::{Email, Request};

/// GuardDuty's limit of accounts per member call.
pub const BATCH: usize = 50;
/// Organizations' largest `ListAccounts` page.
pub const LIST_PAGE: i32 = 20;
/// Longest e-mail GuardDuty takes.
const MAX_EMAIL: usize = 64;

/// Where an account ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Invited,
    WouldInvite,
    Skipped(String),
    Unprocessed(String),
}

/// What Organizations said of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    Member { org_id: Option<String> },
    NotMember,
}

/// A per-account decision that needs no AWS call, or the account to work on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Triaged {
    Decided(Outcome),
    /// A valid account, with the e-mail to create it with if one was given.
    Candidate(Option<String>),
}

/// The first three rows of SPEC.md's table, in order.
pub fn triage(request: &Request, own_account: Option<&str>) -> Vec<(String, Triaged)> {
    request
        .accounts
        .iter()
        .map(|named| {
            let id = &named.account_id;
            let triaged = if let Err(why) = check_account_id(id) {
                Triaged::Decided(Outcome::Unprocessed(format!(
                    "invalid account ID: must be exactly 12 digits ({why})"
                )))
            } else if own_account == Some(id.as_str()) {
                Triaged::Decided(Outcome::Unprocessed(
                    "this is the administrator's own account: an administrator cannot invite itself"
                        .into(),
                ))
            } else {
                match &named.email {
                    Email::NotGiven => Triaged::Candidate(None),
                    Email::Missing => Triaged::Decided(Outcome::Unprocessed(
                        "e-mail missing: each accounts item needs a string email".into(),
                    )),
                    Email::Given(email) => match check_email(email) {
                        Ok(()) => Triaged::Candidate(Some(email.clone())),
                        Err(why) => {
                            Triaged::Decided(Outcome::Unprocessed(format!("invalid e-mail: {why}")))
                        }
                    },
                }
            };
            (id.clone(), triaged)
        })
        .collect()
}

/// Exactly 12 ASCII digits. The reason never echoes the input: it may be
/// anything, and it goes back to the caller and into logs.
pub fn check_account_id(id: &str) -> Result<(), String> {
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err("it holds characters other than the ASCII digits 0-9".into());
    }
    if id.len() != 12 {
        return Err(format!("it has {} digits", id.len()));
    }
    Ok(())
}

/// GuardDuty's limits (1 to 64 characters) and an `@`; whitespace and control
/// characters are refused too, since GuardDuty would fail the whole batch.
pub fn check_email(email: &str) -> Result<(), String> {
    if email.is_empty() {
        return Err("it is empty".into());
    }
    let chars = email.chars().count();
    if chars > MAX_EMAIL {
        return Err(format!("it has {chars} characters, more than {MAX_EMAIL}"));
    }
    if !email.contains('@') {
        return Err("it has no @".into());
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it holds white space or control characters".into());
    }
    Ok(())
}

/// GuardDuty's `CreateMembers` answers "already a member" for an account that
/// is one; that is not a failure, the account is invited as it is.
pub fn is_already_member(result: &str) -> bool {
    let result = result.to_ascii_lowercase();
    result.contains("already") && result.contains("member") && !result.contains("different")
}

/// The organization ID from an Organizations account ARN,
/// `arn:aws:organizations::<management>:account/<org-id>/<account-id>`.
pub fn org_id_from_arn(arn: &str) -> Option<String> {
    let mut parts = arn.rsplit(':').next()?.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("account"), Some(org), Some(_)) if org.starts_with("o-") => Some(org.to_owned()),
        _ => None,
    }
}

/// GuardDuty's unprocessed accounts, by account ID.
fn by_account(unprocessed: &[(String, String)]) -> HashMap<&str, &str> {
    unprocessed
        .iter()
        .map(|(account, result)| (account.as_str(), result.as_str()))
        .collect()
}

/// An AWS call the plan wants made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    DescribeAccount {
        account_id: String,
    },
    ListAccounts {
        next_token: Option<String>,
    },
    ListDetectors,
    GetMembers {
        detector_id: String,
        account_ids: Vec<String>,
    },
    CreateMembers {
        detector_id: String,
        /// (account ID, e-mail)
        accounts: Vec<(String, String)>,
    },
    InviteMembers {
        detector_id: String,
        account_ids: Vec<String>,
        message: Option<String>,
        disable_email_notification: bool,
    },
}

impl Call {
    pub fn service(&self) -> Service {
        match self {
            Call::DescribeAccount { .. } | Call::ListAccounts { .. } => Service::Organizations,
            _ => Service::GuardDuty,
        }
    }

    /// The operation name, as AWS spells it.
    pub fn operation(&self) -> &'static str {
        match self {
            Call::DescribeAccount { .. } => "DescribeAccount",
            Call::ListAccounts { .. } => "ListAccounts",
            Call::ListDetectors => "ListDetectors",
            Call::GetMembers { .. } => "GetMembers",
            Call::CreateMembers { .. } => "CreateMembers",
            Call::InviteMembers { .. } => "InviteMembers",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Organizations,
    GuardDuty,
}

/// An Organizations failure, sorted by what it means for the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgError {
    /// `AWSOrganizationsNotInUseException`: no account is organization-managed.
    NotInUse,
    AccessDenied(String),
    Other(String),
}

/// One page of `ListAccounts`: (account ID, organization ID) pairs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountsPage {
    pub accounts: Vec<(String, Option<String>)>,
    pub next_token: Option<String>,
}

/// The answer to a [`Call`], reduced to what the plan needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Account(Result<Membership, OrgError>),
    AccountsPage(Result<AccountsPage, OrgError>),
    Detectors(Result<Option<String>, String>),
    /// The IDs among those asked that are GuardDuty members (any status).
    Members(Result<Vec<String>, String>),
    /// GuardDuty's unprocessed accounts: (account ID, result).
    Created(Result<Vec<(String, String)>, String>),
    Invited(Result<Vec<(String, String)>, String>),
}

/// A problem that fails the whole invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fatal {
    OrganizationsAccessDenied(String),
    DetectorNotFound,
}

/// How far the invocation is from its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Start whatever is useful.
    Normal,
    /// Start no new Organizations lookup; send partial batches now rather
    /// than wait to fill them.
    WrappingUp,
    /// Start nothing.
    Stopped,
}

/// How membership is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Nothing to look up (`ORGANIZATIONS_CHECK=off`, or all known).
    None,
    /// One `DescribeAccount` per account, all slots.
    Describe,
    /// The sequential `ListAccounts` pages.
    List,
    /// Both: one slot pages through `ListAccounts` while the others describe
    /// accounts; whichever settles every account first wins. Used when the
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

/// Where an account is in its journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Stage {
    /// Waiting for Organizations.
    Lookup,
    /// Outside the organization with an e-mail: is it a GuardDuty member yet?
    Check,
    /// Needs `CreateMembers`.
    Create,
    /// Ready for `InviteMembers`.
    Invite,
    /// Part of a GuardDuty call in flight.
    Busy,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Describe {
    NotPlanned,
    Queued,
    InFlight,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Listing {
    NotUsed,
    /// The next page to ask for (`None`: the first).
    Active {
        next_token: Option<String>,
        in_flight: bool,
    },
    Finished,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Detector {
    Known(String),
    Unknown,
    Looking,
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Describe,
    List,
    Detector,
    Check,
    Create,
    Invite,
}

pub type CallId = u64;

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

/// Per-invocation settings the plan needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub slots: usize,
    pub dry_run: bool,
    pub detector_id: Option<String>,
    pub message: Option<String>,
    pub disable_email_notification: bool,
    /// False with `ORGANIZATIONS_CHECK=off`: every candidate is outside.
    pub check_organizations: bool,
    /// Organizations page count seen by this warm process, if any.
    pub known_pages: Option<usize>,
}

pub struct Plan {
    ids: Vec<String>,
    emails: Vec<Option<String>>,
    stage: Vec<Stage>,
    outcome: Vec<Option<Outcome>>,
    counts: HashMap<Stage, usize>,
    index: HashMap<String, usize>,
    opts: Options,
    strategy: Strategy,
    describe: Vec<Describe>,
    describe_queue: VecDeque<usize>,
    listing: Listing,
    listed: Vec<(String, Option<String>)>,
    pages: usize,
    describe_confirmed: bool,
    list_confirmed: bool,
    no_organization: bool,
    detector: Detector,
    needs_guardduty: bool,
    check_queue: VecDeque<usize>,
    create_queue: VecDeque<usize>,
    invite_queue: VecDeque<usize>,
    side_effects_sent: bool,
    wrapping_up: bool,
    in_flight: HashMap<CallId, (Kind, Vec<usize>)>,
    in_flight_per_service: HashMap<Service, usize>,
    next_id: CallId,
    learned: Vec<(String, Membership)>,
}

impl Plan {
    /// `known` answers from the warm cache; accounts it knows need no call.
    pub fn new(
        triaged: Vec<(String, Triaged)>,
        known: impl Fn(&str) -> Option<Membership>,
        opts: Options,
    ) -> Plan {
        let n = triaged.len();
        let mut plan = Plan {
            ids: Vec::with_capacity(n),
            emails: Vec::with_capacity(n),
            stage: Vec::with_capacity(n),
            outcome: vec![None; n],
            counts: HashMap::new(),
            index: HashMap::with_capacity(n),
            strategy: Strategy::None,
            describe: vec![Describe::NotPlanned; n],
            describe_queue: VecDeque::new(),
            listing: Listing::NotUsed,
            listed: Vec::new(),
            pages: 0,
            describe_confirmed: false,
            list_confirmed: false,
            no_organization: false,
            detector: match &opts.detector_id {
                Some(id) => Detector::Known(id.clone()),
                None => Detector::Unknown,
            },
            opts,
            needs_guardduty: false,
            check_queue: VecDeque::new(),
            create_queue: VecDeque::new(),
            invite_queue: VecDeque::new(),
            side_effects_sent: false,
            wrapping_up: false,
            in_flight: HashMap::new(),
            in_flight_per_service: HashMap::new(),
            next_id: 0,
            learned: Vec::new(),
        };
        let mut unknown = Vec::new();
        for (i, (id, triaged)) in triaged.into_iter().enumerate() {
            plan.index.insert(id.clone(), i);
            plan.ids.push(id);
            plan.stage.push(Stage::Lookup);
            *plan.counts.entry(Stage::Lookup).or_default() += 1;
            match triaged {
                Triaged::Decided(outcome) => {
                    plan.emails.push(None);
                    plan.done(i, outcome);
                }
                Triaged::Candidate(email) => {
                    plan.emails.push(email);
                    if !plan.opts.check_organizations {
                        plan.outside(i);
                        continue;
                    }
                    match known(&plan.ids[i]) {
                        Some(Membership::Member { org_id }) => plan.member(i, org_id.as_deref()),
                        Some(Membership::NotMember) => plan.outside(i),
                        None => unknown.push(i),
                    }
                }
            }
        }
        plan.strategy =
            choose_strategy(unknown.len(), plan.opts.slots.max(1), plan.opts.known_pages);
        if matches!(plan.strategy, Strategy::Describe | Strategy::Race) {
            for &i in &unknown {
                plan.describe[i] = Describe::Queued;
            }
            plan.describe_queue = unknown.into();
        }
        if matches!(plan.strategy, Strategy::List | Strategy::Race) {
            plan.listing = Listing::Active {
                next_token: None,
                in_flight: false,
            };
        }
        plan
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// True once every account has its outcome.
    pub fn is_done(&self) -> bool {
        self.count(Stage::Done) == self.ids.len()
    }

    /// The detector used, if some account needed GuardDuty and it is known.
    pub fn detector_id(&self) -> Option<&str> {
        match &self.detector {
            Detector::Known(id) if self.needs_guardduty => Some(id),
            _ => None,
        }
    }

    /// The detector found with `ListDetectors`, for the warm process to keep.
    pub fn discovered_detector(&self) -> Option<&str> {
        match (&self.detector, &self.opts.detector_id) {
            (Detector::Known(id), None) => Some(id),
            _ => None,
        }
    }

    pub fn learned(&self) -> Learned {
        let finished = self.listing == Listing::Finished && !self.no_organization;
        Learned {
            accounts: self.learned.clone(),
            no_organization: self.no_organization,
            full_listing: finished.then(|| self.listed.clone()),
            pages: finished.then_some(self.pages),
        }
    }

    /// The calls to start now, given the phase. Each carries an ID to hand
    /// back with its reply.
    pub fn next_calls(&mut self, phase: Phase) -> Vec<(CallId, Call)> {
        if phase >= Phase::WrappingUp && !self.wrapping_up {
            self.wrapping_up = true;
            self.settle_lookups();
            self.settle_queues();
        }
        let mut calls = Vec::new();
        if phase == Phase::Stopped {
            return calls;
        }
        // Organizations.
        while !self.wrapping_up && self.free(Service::Organizations) {
            if let Listing::Active {
                next_token,
                in_flight,
            } = &mut self.listing
                && !*in_flight
            {
                *in_flight = true;
                let call = Call::ListAccounts {
                    next_token: next_token.clone(),
                };
                calls.push(self.start(Kind::List, Vec::new(), call));
                continue;
            }
            let Some(i) = self.next_describe() else { break };
            self.describe[i] = Describe::InFlight;
            let call = Call::DescribeAccount {
                account_id: self.ids[i].clone(),
            };
            calls.push(self.start(Kind::Describe, vec![i], call));
        }
        // GuardDuty.
        if self.needs_guardduty && self.detector == Detector::Unknown {
            if self.free(Service::GuardDuty) {
                self.detector = Detector::Looking;
                calls.push(self.start(Kind::Detector, Vec::new(), Call::ListDetectors));
            }
            return calls;
        }
        let Detector::Known(detector_id) = self.detector.clone() else {
            return calls;
        };
        loop {
            if let Some(batch) = self.take_batch(Kind::Invite) {
                if self.opts.dry_run {
                    for i in batch {
                        self.done(i, Outcome::WouldInvite);
                    }
                    continue;
                }
                if !self.free(Service::GuardDuty) {
                    self.requeue(Kind::Invite, batch);
                    break;
                }
                self.side_effects_sent = true;
                let call = Call::InviteMembers {
                    detector_id: detector_id.clone(),
                    account_ids: batch.iter().map(|&i| self.ids[i].clone()).collect(),
                    message: self.opts.message.clone(),
                    disable_email_notification: self.opts.disable_email_notification,
                };
                calls.push(self.start(Kind::Invite, batch, call));
            } else if let Some(batch) = self.take_batch(Kind::Create) {
                if !self.free(Service::GuardDuty) {
                    self.requeue(Kind::Create, batch);
                    break;
                }
                self.side_effects_sent = true;
                let accounts = batch
                    .iter()
                    .map(|&i| {
                        (
                            self.ids[i].clone(),
                            self.emails[i].clone().unwrap_or_default(),
                        )
                    })
                    .collect();
                let call = Call::CreateMembers {
                    detector_id: detector_id.clone(),
                    accounts,
                };
                calls.push(self.start(Kind::Create, batch, call));
            } else if let Some(batch) = self.take_batch(Kind::Check) {
                if !self.free(Service::GuardDuty) {
                    self.requeue(Kind::Check, batch);
                    break;
                }
                let call = Call::GetMembers {
                    detector_id: detector_id.clone(),
                    account_ids: batch.iter().map(|&i| self.ids[i].clone()).collect(),
                };
                calls.push(self.start(Kind::Check, batch, call));
            } else {
                break;
            }
        }
        calls
    }

    /// Applies the answer to call `id`. A reply of the wrong kind, or for an
    /// unknown call, is ignored (the accounts stay accounted for).
    pub fn on_reply(&mut self, id: CallId, reply: Reply) -> Result<(), Fatal> {
        let Some((kind, accounts)) = self.in_flight.remove(&id) else {
            return Ok(());
        };
        let service = match kind {
            Kind::Describe | Kind::List => Service::Organizations,
            _ => Service::GuardDuty,
        };
        if let Some(n) = self.in_flight_per_service.get_mut(&service) {
            *n = n.saturating_sub(1);
        }
        match (kind, reply) {
            (Kind::Describe, Reply::Account(answer)) => {
                let i = accounts[0];
                match answer {
                    Ok(membership) => {
                        self.describe_confirmed = true;
                        self.describe[i] = Describe::NotPlanned;
                        if self.stage[i] == Stage::Lookup {
                            self.learned.push((self.ids[i].clone(), membership.clone()));
                            match membership {
                                Membership::Member { org_id } => self.member(i, org_id.as_deref()),
                                Membership::NotMember => self.outside(i),
                            }
                        }
                    }
                    Err(OrgError::NotInUse) => {
                        self.describe_confirmed = true;
                        self.describe[i] = Describe::NotPlanned;
                        self.no_organization();
                    }
                    Err(OrgError::AccessDenied(message)) => {
                        self.access_denied(message)?;
                    }
                    Err(OrgError::Other(error)) => {
                        self.describe[i] = Describe::Failed(error);
                    }
                }
                self.settle_lookups();
            }
            (Kind::List, Reply::AccountsPage(answer)) => {
                match answer {
                    Ok(page) => {
                        self.list_confirmed = true;
                        self.pages += 1;
                        for (account, org_id) in page.accounts {
                            if let Some(&i) = self.index.get(&account)
                                && self.stage[i] == Stage::Lookup
                            {
                                self.learned.push((
                                    account.clone(),
                                    Membership::Member {
                                        org_id: org_id.clone(),
                                    },
                                ));
                                self.member(i, org_id.as_deref());
                            }
                            self.listed.push((account, org_id));
                        }
                        // Organizations can answer an empty page with a
                        // token: only a missing token ends the listing.
                        match page.next_token {
                            Some(token) => {
                                self.listing = Listing::Active {
                                    next_token: Some(token),
                                    in_flight: false,
                                }
                            }
                            None => {
                                self.listing = Listing::Finished;
                                for i in 0..self.ids.len() {
                                    if self.stage[i] == Stage::Lookup {
                                        self.learned
                                            .push((self.ids[i].clone(), Membership::NotMember));
                                        self.outside(i);
                                    }
                                }
                            }
                        }
                    }
                    Err(OrgError::NotInUse) => {
                        self.list_confirmed = true;
                        self.no_organization();
                    }
                    Err(OrgError::AccessDenied(message)) => {
                        self.listing = Listing::Failed(format!("AccessDeniedException: {message}"));
                        self.access_denied(message)?;
                    }
                    Err(OrgError::Other(error)) => self.listing = Listing::Failed(error),
                }
                self.settle_lookups();
            }
            (Kind::Detector, Reply::Detectors(answer)) => match answer {
                Ok(Some(detector_id)) => self.detector = Detector::Known(detector_id),
                Ok(None) => return Err(Fatal::DetectorNotFound),
                Err(error) => {
                    self.detector = Detector::Failed(format!(
                        "could not look up the GuardDuty detector: {error}"
                    ));
                    self.settle_queues();
                }
            },
            (Kind::Check, Reply::Members(answer)) => match answer {
                Ok(members) => {
                    let members: std::collections::HashSet<&str> =
                        members.iter().map(String::as_str).collect();
                    for i in accounts {
                        if members.contains(self.ids[i].as_str()) {
                            self.enqueue(i, Stage::Invite);
                        } else {
                            self.enqueue(i, Stage::Create);
                        }
                    }
                    self.settle_queues();
                }
                Err(error) => self.fail(&accounts, &format!("GetMembers failed: {error}")),
            },
            (Kind::Create, Reply::Created(answer)) => match answer {
                Ok(unprocessed) => {
                    let unprocessed = by_account(&unprocessed);
                    for i in accounts {
                        match unprocessed.get(self.ids[i].as_str()) {
                            Some(result) if !is_already_member(result) => {
                                self.done(i, Outcome::Unprocessed((*result).to_owned()))
                            }
                            _ => self.enqueue(i, Stage::Invite),
                        }
                    }
                    self.settle_queues();
                }
                Err(error) => self.fail(&accounts, &format!("CreateMembers failed: {error}")),
            },
            (Kind::Invite, Reply::Invited(answer)) => match answer {
                Ok(unprocessed) => {
                    let unprocessed = by_account(&unprocessed);
                    for i in accounts {
                        let outcome = match unprocessed.get(self.ids[i].as_str()) {
                            Some(result) => Outcome::Unprocessed((*result).to_owned()),
                            None => Outcome::Invited,
                        };
                        self.done(i, outcome);
                    }
                }
                Err(error) => self.fail(&accounts, &format!("InviteMembers failed: {error}")),
            },
            (_, reply) => {
                let error = format!("unexpected answer: {reply:?}");
                match kind {
                    Kind::Describe => self.describe[accounts[0]] = Describe::Failed(error),
                    Kind::List => self.listing = Listing::Failed(error),
                    Kind::Detector => self.detector = Detector::Failed(error),
                    _ => self.fail(&accounts, &error),
                }
                self.settle_lookups();
                self.settle_queues();
            }
        }
        Ok(())
    }

    /// One outcome per account, in input order. Accounts still waiting are
    /// reported as not attempted, or of unknown outcome if their call is in
    /// flight; retrying them is safe either way.
    pub fn finish(mut self) -> Vec<(String, Outcome)> {
        let mut busy = vec![false; self.ids.len()];
        for (kind, accounts) in self.in_flight.values() {
            if matches!(
                kind,
                Kind::Invite | Kind::Create | Kind::Check | Kind::Describe
            ) {
                for &i in accounts {
                    busy[i] = true;
                }
            }
        }
        let listing_in_flight = matches!(
            self.listing,
            Listing::Active {
                in_flight: true,
                ..
            }
        );
        for (i, busy) in busy.into_iter().enumerate() {
            let reason = match self.stage[i] {
                Stage::Done => continue,
                Stage::Lookup if busy || listing_in_flight => {
                    "AWS Organizations membership could not be determined: the lookup was still in flight when the function had to answer; not invited, retrying is safe"
                }
                Stage::Lookup => {
                    "AWS Organizations membership could not be determined: not attempted because the invocation's deadline was near; not invited, retrying is safe"
                }
                Stage::Busy => {
                    "outcome unknown: its GuardDuty call was still in flight when the function had to answer; retrying is safe"
                }
                Stage::Check | Stage::Create | Stage::Invite => {
                    "not attempted because the invocation's deadline was near; retrying is safe"
                }
            };
            self.done(i, Outcome::Unprocessed(reason.into()));
        }
        self.ids
            .into_iter()
            .zip(self.outcome)
            .map(|(id, outcome)| (id, outcome.expect("every account is done")))
            .collect()
    }

    fn count(&self, stage: Stage) -> usize {
        self.counts.get(&stage).copied().unwrap_or(0)
    }

    fn set_stage(&mut self, i: usize, stage: Stage) {
        let old = std::mem::replace(&mut self.stage[i], stage);
        *self.counts.entry(old).or_default() -= 1;
        *self.counts.entry(stage).or_default() += 1;
    }

    fn done(&mut self, i: usize, outcome: Outcome) {
        if self.stage[i] != Stage::Done {
            self.outcome[i] = Some(outcome);
            self.set_stage(i, Stage::Done);
        }
    }

    fn member(&mut self, i: usize, org_id: Option<&str>) {
        let reason = match org_id {
            Some(org) => format!("managed by AWS Organizations ({org})"),
            None => "managed by AWS Organizations".to_owned(),
        };
        self.done(i, Outcome::Skipped(reason));
    }

    /// The account is outside the organization: on to GuardDuty.
    fn outside(&mut self, i: usize) {
        self.needs_guardduty = true;
        if let Detector::Failed(error) = &self.detector {
            let error = error.clone();
            self.done(i, Outcome::Unprocessed(error));
            return;
        }
        let next = if self.emails[i].is_some() && !self.opts.dry_run {
            Stage::Check
        } else {
            Stage::Invite
        };
        self.enqueue(i, next);
    }

    fn enqueue(&mut self, i: usize, stage: Stage) {
        self.set_stage(i, stage);
        match stage {
            Stage::Check => self.check_queue.push_back(i),
            Stage::Create => self.create_queue.push_back(i),
            Stage::Invite => self.invite_queue.push_back(i),
            _ => {}
        }
    }

    fn no_organization(&mut self) {
        self.no_organization = true;
        self.listing = Listing::Finished;
        self.describe_queue.clear();
        for i in 0..self.ids.len() {
            if self.stage[i] == Stage::Lookup {
                self.describe[i] = Describe::NotPlanned;
                self.outside(i);
            }
        }
    }

    /// Before anything is created or invited, an `AccessDenied` fails the
    /// invocation. After, failing it would hide what was done, so the accounts
    /// still unknown are reported unprocessed instead.
    fn access_denied(&mut self, message: String) -> Result<(), Fatal> {
        if !self.side_effects_sent {
            return Err(Fatal::OrganizationsAccessDenied(message));
        }
        let error = format!("AccessDeniedException: {message}");
        self.listing = Listing::Failed(error.clone());
        self.describe_queue.clear();
        for i in 0..self.ids.len() {
            if self.stage[i] == Stage::Lookup {
                self.describe[i] = Describe::Failed(error.clone());
            }
        }
        Ok(())
    }

    /// Reports the accounts whose membership can no longer be learned.
    fn settle_lookups(&mut self) {
        if self.count(Stage::Lookup) == 0 {
            return;
        }
        let listing_alive = match &self.listing {
            Listing::Active { in_flight, .. } => *in_flight || !self.wrapping_up,
            _ => false,
        };
        if listing_alive {
            return;
        }
        for i in 0..self.ids.len() {
            if self.stage[i] != Stage::Lookup {
                continue;
            }
            let error = match &self.describe[i] {
                Describe::InFlight => continue,
                Describe::Queued if !self.wrapping_up => continue,
                Describe::Failed(error) => error.clone(),
                _ => match &self.listing {
                    Listing::Failed(error) => error.clone(),
                    _ => continue, // reported by `finish`: not attempted
                },
            };
            self.done(
                i,
                Outcome::Unprocessed(format!(
                    "AWS Organizations membership could not be determined ({error}); not invited"
                )),
            );
        }
    }

    /// Reports queued accounts that can no longer reach GuardDuty.
    fn settle_queues(&mut self) {
        if let Detector::Failed(error) = &self.detector {
            let error = error.clone();
            let queued: Vec<usize> = self
                .check_queue
                .drain(..)
                .chain(self.create_queue.drain(..))
                .chain(self.invite_queue.drain(..))
                .collect();
            for i in queued {
                self.done(i, Outcome::Unprocessed(error.clone()));
            }
        }
    }

    fn fail(&mut self, accounts: &[usize], error: &str) {
        for &i in accounts {
            self.done(i, Outcome::Unprocessed(error.to_owned()));
        }
        self.settle_queues();
    }

    fn free(&self, service: Service) -> bool {
        self.in_flight_per_service
            .get(&service)
            .copied()
            .unwrap_or(0)
            < self.opts.slots.max(1)
    }

    fn start(&mut self, kind: Kind, accounts: Vec<usize>, call: Call) -> (CallId, Call) {
        let id = self.next_id;
        self.next_id += 1;
        *self
            .in_flight_per_service
            .entry(call.service())
            .or_default() += 1;
        if matches!(kind, Kind::Check | Kind::Create | Kind::Invite) {
            for &i in &accounts {
                self.set_stage(i, Stage::Busy);
            }
        }
        self.in_flight.insert(id, (kind, accounts));
        (id, call)
    }

    fn next_describe(&mut self) -> Option<usize> {
        while let Some(i) = self.describe_queue.pop_front() {
            if self.stage[i] == Stage::Lookup && self.describe[i] == Describe::Queued {
                return Some(i);
            }
        }
        None
    }

    fn in_flight_of(&self, kind: Kind) -> bool {
        self.in_flight.values().any(|(k, _)| *k == kind)
    }

    /// Creating and inviting wait until each kind of Organizations call in
    /// use has answered once without `AccessDenied`, so that a denied lookup
    /// fails the invocation before anything is changed.
    fn gate_open(&self) -> bool {
        let lookups_left = self.count(Stage::Lookup) > 0;
        if !lookups_left {
            return true;
        }
        let describing = matches!(self.strategy, Strategy::Describe | Strategy::Race);
        let listing = matches!(self.strategy, Strategy::List | Strategy::Race);
        (!describing || self.describe_confirmed) && (!listing || self.list_confirmed)
    }

    /// The next batch of `kind` to send: a full one, or what is left once no
    /// more accounts can join it (or time is short).
    fn take_batch(&mut self, kind: Kind) -> Option<Vec<usize>> {
        let lookups_done = self.count(Stage::Lookup) == 0;
        let checks_done =
            lookups_done && self.check_queue.is_empty() && !self.in_flight_of(Kind::Check);
        let creates_done =
            checks_done && self.create_queue.is_empty() && !self.in_flight_of(Kind::Create);
        let (queue, upstream_done, gated) = match kind {
            Kind::Check => (&mut self.check_queue, lookups_done, false),
            Kind::Create => (&mut self.create_queue, checks_done, true),
            Kind::Invite => (&mut self.invite_queue, creates_done, true),
            _ => return None,
        };
        if queue.is_empty() || (queue.len() < BATCH && !upstream_done && !self.wrapping_up) {
            return None;
        }
        if gated && !self.opts.dry_run && !self.gate_open() {
            return None;
        }
        let queue = match kind {
            Kind::Check => &mut self.check_queue,
            Kind::Create => &mut self.create_queue,
            _ => &mut self.invite_queue,
        };
        let n = queue.len().min(BATCH);
        Some(queue.drain(..n).collect())
    }

    fn requeue(&mut self, kind: Kind, batch: Vec<usize>) {
        let queue = match kind {
            Kind::Check => &mut self.check_queue,
            Kind::Create => &mut self.create_queue,
            _ => &mut self.invite_queue,
        };
        for i in batch.into_iter().rev() {
            queue.push_front(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Named;

    fn request(ids: &[&str]) -> Request {
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

    fn id(n: usize) -> String {
        format!("{:012}", 100_000_000_000 + n)
    }

    /// Answers every call at once: `members` are in the organization, the
    /// rest are not; GuardDuty accepts everything.
    fn answer(call: &Call, members: &[String]) -> Reply {
        match call {
            Call::DescribeAccount { account_id } => {
                Reply::Account(Ok(if members.contains(account_id) {
                    Membership::Member {
                        org_id: Some("o-1".into()),
                    }
                } else {
                    Membership::NotMember
                }))
            }
            Call::ListAccounts { next_token } => {
                let start: usize = next_token.as_deref().map_or(0, |t| t.parse().unwrap());
                let end = (start + 20).min(members.len());
                Reply::AccountsPage(Ok(AccountsPage {
                    accounts: members[start..end]
                        .iter()
                        .map(|m| (m.clone(), Some("o-1".into())))
                        .collect(),
                    next_token: (end < members.len()).then(|| end.to_string()),
                }))
            }
            Call::ListDetectors => Reply::Detectors(Ok(Some("found".into()))),
            Call::GetMembers { .. } => Reply::Members(Ok(vec![])),
            Call::CreateMembers { .. } => Reply::Created(Ok(vec![])),
            Call::InviteMembers { .. } => Reply::Invited(Ok(vec![])),
        }
    }

    /// Runs the plan to the end in rounds: all calls it allows, then all
    /// answers. Returns the calls made per round.
    fn run(plan: &mut Plan, members: &[String]) -> Vec<Vec<Call>> {
        let mut rounds = Vec::new();
        loop {
            let calls = plan.next_calls(Phase::Normal);
            if calls.is_empty() {
                break;
            }
            for (id, call) in &calls {
                plan.on_reply(*id, answer(call, members)).unwrap();
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
    fn emails_are_checked_against_guardduty_limits() {
        assert!(check_email("a@b").is_ok());
        assert!(check_email("").is_err());
        assert!(check_email(&format!("{}@b.c", "a".repeat(61))).is_err());
        assert!(check_email(&format!("{}@b.c", "a".repeat(60))).is_ok());
        assert!(check_email("ab.c").is_err());
        assert!(check_email("a@b.c\nBcc: x@y").is_err());
    }

    #[test]
    fn org_id_is_read_from_account_arns() {
        assert_eq!(
            org_id_from_arn(
                "arn:aws:organizations::999999999999:account/o-exampleorgid/222222222222"
            ),
            Some("o-exampleorgid".into())
        );
        assert_eq!(org_id_from_arn("nonsense"), None);
    }

    #[test]
    fn already_a_member_is_not_a_failure() {
        assert!(is_already_member(
            "The request is rejected because the input account is already a member of the current account."
        ));
        assert!(!is_already_member(
            "The request is rejected because the account is already associated with a different administrator account."
        ));
        assert!(!is_already_member("The email address is invalid."));
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
                    Outcome::Skipped("managed by AWS Organizations (o-1)".into())
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
        assert!(
            matches!(&calls[0].1, Call::GetMembers { account_ids, .. } if account_ids.len() == 2)
        );
        plan.on_reply(calls[0].0, Reply::Members(Ok(vec!["222222222222".into()])))
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
            Reply::Created(Ok(vec![(
                "111111111111".into(),
                "The request is rejected because the input account is already a member of the current account.".into(),
            )])),
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
            Reply::Detectors(Err("InternalServerErrorException: x".into())),
        )
        .unwrap();
        assert!(plan.is_done());
        let outcomes = plan.finish();
        assert!(matches!(&outcomes[0].1, Outcome::Unprocessed(r) if r.contains("detector")));
    }

    #[test]
    fn deadline_reports_waiting_and_in_flight_accounts() {
        let ids: Vec<String> = (0..12).map(id).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut opts = options();
        opts.known_pages = Some(100);
        let mut plan = Plan::new(triage(&request(&refs), None), |_| None, opts);
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
}
