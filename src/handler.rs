//! The Lambda handler: event in, response out. Holds what a warm process
//! keeps between invocations (the Organizations cache, the discovered
//! detector); everything else is per invocation.

use std::sync::Mutex;
use std::time::Duration;

use lambda_runtime::LambdaEvent;
use serde_json::value::RawValue;

use crate::cache::OrgCache;
use crate::config::{OrganizationsCheck, Settings};
use crate::engine::{Aws, CallStats, Deadline, drive};
use crate::error::InvocationError;
use crate::event;
use crate::plan::{Options, Plan, triage};
use crate::response::Response;
use crate::runtime::{account_of_function, time_left};

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
                codes = ?response.codes(),
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

        let stats = drive(&self.aws, &mut plan, deadline).await?;

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
        let response = Response::new(detector_id, request.dry_run, plan.finish());
        Ok((response, stats))
    }
}
