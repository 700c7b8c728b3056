//! The Lambda handler: event in, response out. Holds what a warm process
//! keeps between invocations (the Organizations cache, the discovered
//! detector); everything else is per invocation.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::cache::OrgCache;
use crate::config::{OrganizationsCheck, Settings};
use crate::engine::{Aws, CallStats, Deadline, drive};
use crate::error::InvocationError;
use crate::event;
use crate::plan::{Fatal, Options, Outcome, Plan, triage};

/// The response, as SPEC.md shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub detector_id: Option<String>,
    pub invited_accounts: Vec<String>,
    pub skipped_accounts: Vec<Skipped>,
    pub unprocessed_accounts: Vec<Unprocessed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_invite_accounts: Option<Vec<String>>,
    pub dry_run: bool,
}

impl Response {
    /// Every account the response reports, list by list: invited, would
    /// invite, skipped, unprocessed. Each account named in the event appears
    /// exactly once.
    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.invited_accounts
            .iter()
            .chain(self.would_invite_accounts.iter().flatten())
            .map(String::as_str)
            .chain(self.skipped_accounts.iter().map(|s| s.account_id.as_str()))
            .chain(
                self.unprocessed_accounts
                    .iter()
                    .map(|u| u.account_id.as_str()),
            )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub account_id: String,
    pub reason: String,
}

/// The shape of GuardDuty's own `UnprocessedAccount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unprocessed {
    pub account_id: String,
    pub result: String,
}

struct Warm {
    organizations: OrgCache,
    detector_id: Option<String>,
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
            detector_id: None,
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
    ) -> Result<Response, InvocationError> {
        let context = &event.context;
        let own_account = account_of_function(&context.invoked_function_arn);
        let remaining = time_left(context.deadline);
        self.invite(event.payload.get(), own_account, remaining)
            .await
    }

    /// Handles one event. `own_account` is the administrator's account;
    /// `remaining` the time until Lambda's deadline.
    pub async fn invite(
        &self,
        raw_event: &str,
        own_account: Option<&str>,
        remaining: Option<Duration>,
    ) -> Result<Response, InvocationError> {
        let started = tokio::time::Instant::now();
        let deadline = remaining.map(Deadline::after);
        let result = self.run(raw_event, own_account, deadline).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok((response, stats)) => tracing::info!(
                invited = response.invited_accounts.len(),
                would_invite = response.would_invite_accounts.as_ref().map_or(0, Vec::len),
                skipped = response.skipped_accounts.len(),
                unprocessed = response.unprocessed_accounts.len(),
                dry_run = response.dry_run,
                calls = ?stats.by_operation,
                max_in_flight = stats.max_in_flight,
                elapsed_ms,
                "invocation summary"
            ),
            Err(error) => tracing::warn!(
                error_type = error.error_type(),
                error = %error,
                elapsed_ms,
                "invocation failed"
            ),
        }
        result.map(|(response, _)| response)
    }

    async fn run(
        &self,
        raw_event: &str,
        own_account: Option<&str>,
        deadline: Option<Deadline>,
    ) -> Result<(Response, CallStats), InvocationError> {
        let value: serde_json::Value = serde_json::from_str(raw_event).map_err(|e| {
            InvocationError::InvalidEvent(format!("the event is not usable JSON: {e}"))
        })?;
        let request = event::parse(&value, self.settings.max_accounts_per_event)
            .map_err(InvocationError::InvalidEvent)?;
        drop(value);
        let check = self.settings.organizations_check == OrganizationsCheck::Enforce;
        let triaged = triage(&request, own_account);

        let mut plan = {
            let warm = self.warm.lock().unwrap_or_else(|e| e.into_inner());
            let now = std::time::Instant::now();
            let options = Options {
                slots: self.settings.max_calls_in_flight,
                dry_run: request.dry_run,
                detector_id: request
                    .detector_id
                    .clone()
                    .or_else(|| self.settings.detector_id.clone())
                    .or_else(|| warm.detector_id.clone()),
                message: request
                    .message
                    .clone()
                    .or_else(|| self.settings.invitation_message.clone()),
                disable_email_notification: request
                    .disable_email_notification
                    .unwrap_or(self.settings.disable_email_notification),
                check_organizations: check,
                known_pages: warm.organizations.pages(),
            };
            Plan::new(triaged, |id| warm.organizations.lookup(id, now), options)
        };
        tracing::debug!(strategy = ?plan.strategy(), "plan ready");

        let stats = drive(&self.aws, &mut plan, deadline)
            .await
            .map_err(|fatal| match fatal {
                Fatal::OrganizationsAccessDenied(message) => {
                    InvocationError::OrganizationsAccessDenied(format!(
                        "AWS Organizations denied the membership lookup ({message}); grant organizations:DescribeAccount and organizations:ListAccounts to the function's role, or set ORGANIZATIONS_CHECK=off. Nothing was invited."
                    ))
                }
                Fatal::DetectorNotFound => InvocationError::DetectorNotFound(
                    "GuardDuty has no detector in this region: enable GuardDuty, or name the detector with detectorId in the event or GUARDDUTY_DETECTOR_ID. Nothing was invited.".into(),
                ),
            })?;

        {
            let mut warm = self.warm.lock().unwrap_or_else(|e| e.into_inner());
            if check {
                warm.organizations
                    .record(plan.learned(), std::time::Instant::now());
            }
            if let Some(id) = plan.discovered_detector() {
                warm.detector_id = Some(id.to_owned());
            }
        }
        let detector_id = plan.detector_id().map(str::to_owned);
        let response = respond(detector_id, request.dry_run, plan.finish());
        Ok((response, stats))
    }
}

fn respond(
    detector_id: Option<String>,
    dry_run: bool,
    outcomes: Vec<(String, Outcome)>,
) -> Response {
    let mut response = Response {
        detector_id,
        invited_accounts: Vec::new(),
        skipped_accounts: Vec::new(),
        unprocessed_accounts: Vec::new(),
        would_invite_accounts: dry_run.then(Vec::new),
        dry_run,
    };
    for (account_id, outcome) in outcomes {
        match outcome {
            Outcome::Invited => response.invited_accounts.push(account_id),
            Outcome::WouldInvite => response
                .would_invite_accounts
                .get_or_insert_with(Vec::new)
                .push(account_id),
            Outcome::Skipped(reason) => response
                .skipped_accounts
                .push(Skipped { account_id, reason }),
            Outcome::Unprocessed(result) => response
                .unprocessed_accounts
                .push(Unprocessed { account_id, result }),
        }
    }
    response
}

/// The account in a Lambda function ARN
/// (`arn:aws:lambda:<region>:<account>:function:<name>`).
pub fn account_of_function(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    crate::plan::check_account_id(account).ok()?;
    Some(account)
}

/// Time until Lambda's deadline, given in milliseconds since the Unix epoch;
/// `None` when there is none. Some Runtime API emulators (`cargo lambda`)
/// send the time left instead of a point in time: a value too small to be a
/// date after 2001 is read that way, since no real deadline is in the past.
fn time_left(deadline_ms: u64) -> Option<Duration> {
    const EPOCH_MS_2001: u64 = 1_000_000_000_000;
    if deadline_ms == 0 {
        return None;
    }
    if deadline_ms < EPOCH_MS_2001 {
        return Some(Duration::from_millis(deadline_ms));
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Some(Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_account_comes_from_the_function_arn() {
        assert_eq!(
            account_of_function("arn:aws:lambda:us-east-1:123456789012:function:inviter"),
            Some("123456789012")
        );
        assert_eq!(
            account_of_function("arn:aws:lambda:us-east-1:123456789012:function:inviter:live"),
            Some("123456789012")
        );
        assert_eq!(account_of_function(""), None);
        assert_eq!(
            account_of_function("arn:aws:lambda:us-east-1:abc:function:x"),
            None
        );
    }

    #[test]
    fn deadlines_are_points_in_time_or_relative_from_emulators() {
        assert_eq!(time_left(0), None);
        assert_eq!(time_left(600_000), Some(Duration::from_secs(600)));
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let left = time_left(now_ms + 30_000).unwrap();
        assert!(
            left <= Duration::from_secs(30) && left > Duration::from_secs(25),
            "{left:?}"
        );
        assert_eq!(time_left(now_ms - 5_000), Some(Duration::ZERO));
        assert_eq!(account_of_function("function-arn"), None);
    }
}
