//! The Lambda handler: event in, answer out. Holds what a warm process
//! keeps between invocations (the Organizations cache, each Region's
//! discovered detector, the enabled Regions, the caller's account);
//! everything else is per invocation.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde_json::value::RawValue;

use crate::cache::OrgCache;
use crate::config::{OrganizationsCheck, Settings};
use crate::engine::{Aws, CallStats, Deadline, call_once, drive};
use crate::error::InvocationError;
use crate::event::{self, Request};
use crate::metrics::{self, Counts};
use crate::plan::{Call, MemberRole, Options, Plan, RegionSetup, Reply, triage};
use crate::regions::{self, Regions};
use crate::response::{Answer, MultiRegion, RegionResponse, Response};
use crate::runtime::{account_of_function, partition_of_function, time_left};

struct Warm {
    organizations: OrgCache,
    /// Each Region's detector found with `ListDetectors`.
    detectors: HashMap<String, String>,
    /// The enabled Regions (`"all"`), and when they were listed.
    enabled_regions: Option<(Instant, Vec<String>)>,
    /// The caller's account, as STS named it.
    caller: Option<String>,
}

/// Who invokes: the administrator's account and partition, from the
/// function's ARN.
#[derive(Debug, Clone, Copy)]
struct Caller<'a> {
    account: Option<&'a str>,
    partition: &'a str,
}

pub struct Inviter<A> {
    aws: A,
    settings: Settings,
    warm: Mutex<Warm>,
}

impl<A: Aws> Inviter<A> {
    pub fn new(aws: A, settings: Settings) -> Self {
        let warm = Warm {
            organizations: OrgCache::new(settings.organizations_cache),
            detectors: HashMap::new(),
            enabled_regions: None,
            caller: None,
        };
        Inviter {
            aws,
            settings,
            warm: Mutex::new(warm),
        }
    }

    /// The AWS seam this handler calls.
    pub fn aws(&self) -> &A {
        &self.aws
    }

    /// The Lambda entry point. The event arrives as raw JSON so that every
    /// problem with it, nesting depth included, becomes an `InvalidEvent`.
    pub async fn handle(
        &self,
        event: LambdaEvent<Box<RawValue>>,
    ) -> Result<Answer, InvocationError> {
        let context = &event.context;
        let arn = &context.invoked_function_arn;
        let caller = Caller {
            account: account_of_function(arn),
            partition: partition_of_function(arn),
        };
        let remaining = time_left(context.deadline);
        self.answer(event.payload.get(), caller, remaining).await
    }

    /// Handles one event as the administrator account `own_account` (in the
    /// `aws` partition), `remaining` the time until Lambda's deadline.
    pub async fn invite(
        &self,
        raw_event: &str,
        own_account: Option<&str>,
        remaining: Option<Duration>,
    ) -> Result<Answer, InvocationError> {
        let caller = Caller {
            account: own_account,
            partition: "aws",
        };
        self.answer(raw_event, caller, remaining).await
    }

    async fn answer(
        &self,
        raw_event: &str,
        caller: Caller<'_>,
        remaining: Option<Duration>,
    ) -> Result<Answer, InvocationError> {
        let started = tokio::time::Instant::now();
        let deadline = remaining.map(Deadline::after);
        let mut stats = CallStats::default();
        let result = self.run(raw_event, caller, deadline, &mut stats).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        self.report(&result, &stats, elapsed_ms);
        result
    }

    async fn run(
        &self,
        raw_event: &str,
        caller: Caller<'_>,
        deadline: Option<Deadline>,
        stats: &mut CallStats,
    ) -> Result<Answer, InvocationError> {
        let value: serde_json::Value = serde_json::from_str(raw_event).map_err(|e| {
            InvocationError::InvalidEvent(format!("the event is not usable JSON: {e}"))
        })?;
        let request = event::parse(&value, self.settings.max_accounts_per_event)
            .map_err(InvocationError::InvalidEvent)?;
        drop(value);
        let named = request
            .regions
            .clone()
            .or_else(|| self.settings.regions.clone());
        if request.detector_id.is_some() && named.as_ref().is_some_and(|r| r.count() != Some(1)) {
            return Err(InvocationError::InvalidEvent(
                "detectorId names the detector of one Region, but REGIONS names more (or all): name one Region in the event's regions, or leave detectorId out".into(),
            ));
        }
        let (regions, multi_region) = match named {
            None => (vec![self.own_region().to_owned()], false),
            Some(Regions::Named(names)) => (names, true),
            Some(Regions::All) => (self.enabled_regions(deadline, stats).await?, true),
        };
        let member_role = match &self.settings.member_role {
            Some(role) => Some(MemberRole {
                partition: caller.partition.to_owned(),
                name: role.name.clone(),
                external_id: role.external_id.clone(),
                create_detectors: role.create_detectors,
                administrator: match caller.account {
                    Some(account) => Some(account.to_owned()),
                    None if request.dry_run => None,
                    None => self.caller_account(deadline, stats).await,
                },
            }),
            None => None,
        };
        let check = self.settings.organizations_check == OrganizationsCheck::Enforce;
        let triaged = triage(&request, caller.account);

        let mut plan = {
            let warm = self.warm();
            let now = Instant::now();
            let options = Options {
                slots: self.settings.max_calls_in_flight,
                dry_run: request.dry_run,
                message: request
                    .message
                    .clone()
                    .or_else(|| self.settings.invitation_message.clone()),
                disable_email_notification: request
                    .disable_email_notification
                    .unwrap_or(self.settings.disable_email_notification),
                check_organizations: check,
                known_pages: warm.organizations.pages(),
                regions: self.region_setups(&regions, &request, &warm),
                multi_region,
                member_role,
            };
            Plan::new(triaged, |id| warm.organizations.lookup(id, now), options)
        };
        tracing::debug!(strategy = ?plan.strategy(), regions = regions.len(), "plan ready");

        drive(&self.aws, &mut plan, deadline, stats).await?;

        {
            let mut warm = self.warm();
            if check {
                warm.organizations.record(plan.learned(), Instant::now());
            }
            let found: Vec<(String, String)> = plan
                .discovered_detectors()
                .map(|(region, id)| (region.to_owned(), id.to_owned()))
                .collect();
            warm.detectors.extend(found);
        }
        let enabled_list = self.settings.member_role.is_some();
        let mut responses = plan
            .finish_regions()
            .into_iter()
            .map(|finished| RegionResponse {
                region: finished.region,
                response: Response::with_lists(
                    finished.detector_id,
                    request.dry_run,
                    enabled_list,
                    finished.outcomes,
                ),
            });
        Ok(match (multi_region, responses.next()) {
            (false, Some(only)) => Answer::Single(only.response),
            (_, first) => Answer::Multi(MultiRegion {
                dry_run: request.dry_run,
                regions: first.into_iter().chain(responses).collect(),
            }),
        })
    }

    fn warm(&self) -> MutexGuard<'_, Warm> {
        self.warm.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn own_region(&self) -> &str {
        self.aws.own_region().unwrap_or_default()
    }

    /// Each Region with its detector: the event's, for the one Region it
    /// works in; `GUARDDUTY_DETECTOR_ID` for the function's own Region when
    /// the event names none; else the one this process found before.
    fn region_setups(
        &self,
        regions: &[String],
        request: &Request,
        warm: &Warm,
    ) -> Vec<RegionSetup> {
        regions
            .iter()
            .map(|name| {
                let configured = match &request.detector_id {
                    Some(id) => Some(id.clone()),
                    None if name == self.own_region() => self.settings.detector_id.clone(),
                    None => None,
                };
                RegionSetup {
                    name: name.clone(),
                    detector_id: configured.or_else(|| warm.detectors.get(name).cloned()),
                }
            })
            .collect()
    }

    /// Every Region enabled for the account, sorted by name; remembered for
    /// `ORGANIZATIONS_CACHE_SECONDS`.
    async fn enabled_regions(
        &self,
        deadline: Option<Deadline>,
        stats: &mut CallStats,
    ) -> Result<Vec<String>, InvocationError> {
        let ttl = self.settings.organizations_cache;
        if let Some((at, names)) = &self.warm().enabled_regions
            && at.elapsed() < ttl
        {
            return Ok(names.clone());
        }
        let failed = |why: String| {
            InvocationError::RegionDiscoveryFailed(format!(
                "regions is \"all\", but the enabled Regions could not be listed with AWS Account ListRegions ({why}); grant account:ListRegions to the function's role, or name the Regions. Nothing was invited."
            ))
        };
        let names = match call_once(&self.aws, Call::ListRegions, deadline, stats).await {
            Some(Reply::Regions(Ok(names))) => regions::sorted(names),
            Some(Reply::Regions(Err(error))) => return Err(failed(error.message)),
            Some(_) => return Err(failed("an answer of another kind".into())),
            None => return Err(failed("no answer before the deadline".into())),
        };
        if names.is_empty() {
            return Err(failed("it listed no enabled Region".into()));
        }
        if !ttl.is_zero() {
            self.warm().enabled_regions = Some((Instant::now(), names.clone()));
        }
        Ok(names)
    }

    /// The caller's account, when the function's ARN does not name it
    /// (Runtime API emulators): asked of STS once per process.
    async fn caller_account(
        &self,
        deadline: Option<Deadline>,
        stats: &mut CallStats,
    ) -> Option<String> {
        if let Some(account) = &self.warm().caller {
            return Some(account.clone());
        }
        match call_once(&self.aws, Call::CallerIdentity, deadline, stats).await {
            Some(Reply::Identity(Ok(account))) => {
                self.warm().caller = Some(account.clone());
                Some(account)
            }
            other => {
                tracing::warn!(answer = ?other, "the caller's account is unknown: accepts will fail");
                None
            }
        }
    }

    /// The summary log line, and one metrics record per Region.
    fn report(&self, result: &Result<Answer, InvocationError>, stats: &CallStats, elapsed_ms: u64) {
        let own_region = self.own_region();
        let regions: Vec<(&str, &Response)> = match result {
            Ok(Answer::Single(response)) => vec![(own_region, response)],
            Ok(Answer::Multi(multi)) => multi
                .regions
                .iter()
                .map(|r| (r.region.as_str(), &r.response))
                .collect(),
            Err(_) => Vec::new(),
        };
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut records = Vec::new();
        let mut total = Counts::default();
        let mut codes: BTreeMap<String, usize> = BTreeMap::new();
        for (n, (region, response)) in regions.iter().enumerate() {
            let global = if n == 0 { stats.global } else { 0 };
            let calls = stats.by_region.get(*region).copied().unwrap_or(0) + global;
            let counts = Counts::of(response, calls);
            records.push(metrics::record(region, &counts, now_ms));
            total = total.plus(&counts);
            for (code, count) in response.codes() {
                *codes.entry(code).or_default() += count;
            }
        }
        match result {
            Ok(answer) => tracing::info!(
                regions = regions.len(),
                invited = total.invited,
                enabled = total.enabled,
                skipped = total.skipped,
                unprocessed = total.unprocessed,
                retryable = total.retryable_unprocessed,
                codes = ?codes,
                dry_run = matches!(answer, Answer::Single(r) if r.dry_run) || matches!(answer, Answer::Multi(m) if m.dry_run),
                calls = ?stats.by_operation,
                max_in_flight = stats.max_in_flight,
                elapsed_ms,
                "invocation summary"
            ),
            Err(error) => {
                tracing::warn!(
                    error_type = error.error_type(),
                    error = %error,
                    calls = ?stats.by_operation,
                    elapsed_ms,
                    "invocation failed"
                );
                let counts = Counts {
                    aws_calls: stats.total(),
                    ..Counts::default()
                };
                records.push(metrics::record(own_region, &counts, now_ms));
            }
        }
        metrics::emit(&records);
    }
}
