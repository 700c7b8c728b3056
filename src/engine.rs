//! Runs a [`Plan`] against AWS: starts the calls it asks for (it already
//! keeps each service to its slots), feeds it the answers, and keeps the
//! invocation's deadline.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::time::Instant;

use crate::plan::{Call, Fatal, Phase, Plan, Reply};

/// The seam to AWS: one call in, its answer out. The real implementation
/// (`aws::AwsClients`) uses the SDK clients; tests may use anything.
pub trait Aws {
    fn call(&self, call: Call) -> impl Future<Output = Reply> + Send;

    /// The function's own Region (`AWS_REGION`), where it works when no
    /// Regions are named.
    fn own_region(&self) -> Option<&str>;
}

/// Time left at which the function stops waiting and answers. Posting the
/// response to the Runtime API takes a few milliseconds; the rest is slack.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(250);
/// No call starts in the last this-much before answering.
pub const CALL_MARGIN: Duration = Duration::from_millis(150);
/// No Organizations lookup starts in the last this-much before calls stop,
/// so that the accounts already known can still be invited.
pub const LOOKUP_MARGIN: Duration = Duration::from_millis(750);

/// The moments derived from the Lambda deadline.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    wrap_up_at: Instant,
    stop_at: Instant,
    answer_at: Instant,
}

impl Deadline {
    /// From the time left until Lambda's deadline.
    pub fn after(remaining: Duration) -> Deadline {
        let now = Instant::now();
        let answer_at = now + remaining.saturating_sub(ANSWER_MARGIN);
        let stop_at = answer_at.checked_sub(CALL_MARGIN).unwrap_or(now).max(now);
        let wrap_up_at = stop_at.checked_sub(LOOKUP_MARGIN).unwrap_or(now).max(now);
        Deadline {
            wrap_up_at,
            stop_at,
            answer_at,
        }
    }

    fn phase(&self, now: Instant) -> Phase {
        if now >= self.stop_at {
            Phase::Stopped
        } else if now >= self.wrap_up_at {
            Phase::WrappingUp
        } else {
            Phase::Normal
        }
    }

    /// The next moment at which the phase changes or the function answers.
    fn next_moment(&self, now: Instant) -> Instant {
        [self.wrap_up_at, self.stop_at, self.answer_at]
            .into_iter()
            .find(|&t| t > now)
            .unwrap_or(self.answer_at)
    }
}

/// Counts kept for the summary log line, the metrics and the benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallStats {
    pub by_operation: BTreeMap<&'static str, usize>,
    /// Calls made in each Region (the member side's included).
    pub by_region: BTreeMap<String, usize>,
    /// Calls of the global services: Organizations, STS, AWS Account.
    pub global: usize,
    pub max_in_flight: usize,
}

impl CallStats {
    /// Counts `call` as made.
    pub fn count(&mut self, call: &Call) {
        *self.by_operation.entry(call.operation()).or_default() += 1;
        match call.region() {
            Some(region) => *self.by_region.entry(region.to_owned()).or_default() += 1,
            None => self.global += 1,
        }
    }

    /// All calls made.
    pub fn total(&self) -> usize {
        self.by_operation.values().sum()
    }
}

/// Drives `plan` until every account has an outcome, nothing more can be
/// done, or the deadline says answer now. Calls still in flight then are
/// dropped (cancelled); `Plan::finish` reports their accounts.
pub async fn drive<A: Aws>(
    aws: &A,
    plan: &mut Plan,
    deadline: Option<Deadline>,
    stats: &mut CallStats,
) -> Result<(), Fatal> {
    let mut in_flight = FuturesUnordered::new();
    loop {
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d.answer_at) {
            break;
        }
        let phase = deadline.map_or(Phase::Normal, |d| d.phase(now));
        for (id, call) in plan.next_calls(phase) {
            stats.count(&call);
            let call_future = aws.call(call);
            in_flight.push(async move { (id, call_future.await) });
        }
        stats.max_in_flight = stats.max_in_flight.max(in_flight.len());
        if plan.is_done() || in_flight.is_empty() {
            break;
        }
        let wake = deadline.map(|d| d.next_moment(now));
        tokio::select! {
            Some((id, reply)) = in_flight.next() => plan.on_reply(id, reply)?,
            _ = sleep_until(wake) => {}
        }
    }
    Ok(())
}

/// Makes one call outside a plan (the invocation's set-up), counted in
/// `stats`; `None` if the deadline says answer before it answers.
pub async fn call_once<A: Aws>(
    aws: &A,
    call: Call,
    deadline: Option<Deadline>,
    stats: &mut CallStats,
) -> Option<Reply> {
    stats.count(&call);
    let answer = aws.call(call);
    tokio::select! {
        reply = answer => Some(reply),
        _ = sleep_until(deadline.map(|d| d.answer_at)) => None,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
