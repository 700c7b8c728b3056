//! A local emulator of the AWS GuardDuty member APIs and the AWS
//! Organizations account APIs, speaking the real wire protocols so that the
//! real `aws-sdk-guardduty` / `aws-sdk-organizations` clients work against it
//! unmodified (point them at [`Emulator::endpoint`] with `endpoint_url`, or
//! `AWS_ENDPOINT_URL_GUARDDUTY` / `AWS_ENDPOINT_URL_ORGANIZATIONS`).
//!
//! It is a test/demo/benchmark tool only and is never deployed. It binds
//! `127.0.0.1` only.
//!
//! # Protocols
//!
//! * Every request must carry an `Authorization` header starting with
//!   `AWS4-HMAC-SHA256` (signatures are not verified); otherwise the answer is
//!   403 `UnrecognizedClientException`.
//! * **GuardDuty** (restJson1): `GET /detector` (ListDetectors),
//!   `POST /detector/{id}/member/get` (GetMembers),
//!   `POST /detector/{id}/member` (CreateMembers),
//!   `POST /detector/{id}/member/invite` (InviteMembers). Errors carry
//!   `x-amzn-ErrorType` and `{"message", "__type"}`: `BadRequestException`
//!   (400), `AccessDeniedException` (403), `TooManyRequestsException` (429),
//!   `InternalServerErrorException` (500). Limits: 1..=50 account IDs / account
//!   details, 12-character account IDs, 1..=64-character emails, 1..=300
//!   character detector IDs, `maxResults` 1..=50.
//! * **Organizations** (awsJson1_1): `POST /` with
//!   `X-Amz-Target: AWSOrganizationsV20161128.{DescribeAccount,ListAccounts,DescribeOrganization}`.
//!   Errors are `{"__type", "Message"}` with HTTP 400 (500 for
//!   `ServiceException`). With no organization configured every operation
//!   answers `AWSOrganizationsNotInUseException`. `ListAccounts` pages hold
//!   at most 20 accounts (default 20); `MaxResults` > 20 is
//!   `InvalidInputException`.
//!
//! # State, fault injection, recording
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use emulator::{Emulator, Fault};
//! use std::time::Duration;
//!
//! let emu = Emulator::start().await?;             // 127.0.0.1:<any port>
//! emu.add_detector("det1");
//! emu.put_member("det1", "111111111111", "a@example.com", "Removed");
//! emu.refuse_invitation("333333333333", "The account refused.");
//! emu.set_organization("o-abc", "999999999999");
//! emu.add_org_account("222222222222", "ACTIVE");
//! emu.set_empty_pages(2);                          // an empty page before every 2nd page
//! emu.set_latency("InviteMembers", Duration::from_millis(20));
//! emu.inject("ListAccounts", Fault::Throttle, 1);  // next ListAccounts is throttled
//! emu.inject_for_account("InviteMembers", "222222222222", Fault::ServerError, usize::MAX);
//! // ... point SDK clients at emu.endpoint() ...
//! let _calls = emu.calls();                        // every request, in arrival order
//! let _n = emu.count("InviteMembers");
//! let _max = emu.max_in_flight("guardduty");
//! let _m = emu.member("det1", "111111111111");
//! emu.stop().await;                                // dropping it also stops the server
//! # Ok(()) }
//! ```
//!
//! Faults are a queue per operation: each call takes the first queued rule
//! for its operation that matches (a rule made with
//! [`Emulator::inject_for_account`] only matches requests naming that
//! account). `Throttle`, `ServerError`, `AccessDenied` and `Hang` replace the
//! operation (state is not touched); `InvalidJson` and `ResetMidResponse`
//! corrupt the response *after* the operation has run (its state change
//! happened, like a response lost on the way back).
//!
//! Latency ([`Emulator::set_latency`], [`Emulator::set_default_latency`]) is
//! a per-request sleep before answering; concurrent requests sleep
//! independently. A request counts as in flight from arrival until its
//! response body has been handed over (a `Hang` counts until the emulator
//! stops or the client drops the connection).
//!
//! # Control plane
//!
//! The same port serves `/_emulator/...` for out-of-process harnesses (see the
//! `emulator` binary): `GET /_emulator/calls`, `GET /_emulator/stats`,
//! `POST /_emulator/reset-calls`, `POST /_emulator/clear-faults`,
//! `POST /_emulator/latency` (`{"op": "InviteMembers"|null, "ms": 20}`),
//! `POST /_emulator/fault` (`{"op", "fault", "times"?, "accountId"?}`),
//! `GET /_emulator/member/{detectorId}/{accountId}`. Control-plane requests
//! are not recorded.
//!
//! Seeding routes, for harnesses that drive the binary (the benchmark):
//!
//! * `GET /_emulator/org-accounts` answers
//!   `{"organizationId": "o-…"|null, "accountIds": [...]}`, the
//!   organization's accounts in listing order (as
//!   [`Emulator::org_account_ids`]).
//! * `POST /_emulator/members` with
//!   `{"detectorId", "accountIds": [...], "status"?: "Removed"}` seeds (or
//!   overwrites) those GuardDuty members, e-mail `aws+<id>@example.com`,
//!   creating the detector if needed (as [`Emulator::put_member`]); answers
//!   `{"ok": true, "members": n}`.
//! * `POST /_emulator/empty-pages` with `{"every": n}` is
//!   [`Emulator::set_empty_pages`] (0 = off).

mod control;
mod guardduty;
mod organizations;
mod server;
mod state;
mod util;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use state::{Organization, Shared, State};

/// Result text GuardDuty uses for accounts that are not members.
pub const RESULT_NOT_A_MEMBER: &str = guardduty::NOT_A_MEMBER;
/// Result text GuardDuty uses for CreateMembers on an existing member.
pub const RESULT_ALREADY_A_MEMBER: &str = guardduty::ALREADY_A_MEMBER;
/// Message of the Organizations `TooManyRequestsException` fault.
pub const ORGANIZATIONS_THROTTLE_MESSAGE: &str = organizations::THROTTLE_MESSAGE;

/// Detector ID used by [`Emulator::sample_organization`].
pub const SAMPLE_DETECTOR_ID: &str = "12abc34d567e8fa901bc2d34e56789f0";
/// Organization ID used by [`Emulator::sample_organization`].
pub const SAMPLE_ORG_ID: &str = "o-exampleorgid";
/// Management account used by [`Emulator::sample_organization`].
pub const SAMPLE_MANAGEMENT_ACCOUNT_ID: &str = "999999999999";

/// A GuardDuty member as stored by the emulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub detector_id: String,
    pub account_id: String,
    pub email: String,
    /// `Created`, `Invited`, `Enabled`, `Disabled`, `Removed`, `Resigned`, ...
    pub relationship_status: String,
    /// ISO-8601 time of the last invitation.
    pub invited_at: Option<String>,
    pub updated_at: String,
    /// `message` of the last InviteMembers that invited this member.
    pub invited_message: Option<String>,
    /// `disableEmailNotification` of the last InviteMembers that invited this member.
    pub disable_email_notification: Option<bool>,
    /// How many successful InviteMembers named this member.
    pub invite_count: usize,
}

/// A fault to inject in place of (or on top of) an operation's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Fault {
    /// GuardDuty: 429 `TooManyRequestsException`; Organizations: 400
    /// `TooManyRequestsException` ([`ORGANIZATIONS_THROTTLE_MESSAGE`]).
    Throttle,
    /// GuardDuty: 500 `InternalServerErrorException`; Organizations: 500 `ServiceException`.
    ServerError,
    /// GuardDuty: 403 `AccessDeniedException`; Organizations: 400 `AccessDeniedException`.
    AccessDenied,
    /// 200 with a body that is not JSON (the operation ran).
    InvalidJson,
    /// Status line + headers with a too-large `Content-Length`, half the body,
    /// then the connection is closed (the operation ran).
    ResetMidResponse,
    /// Never answer; the socket stays open until the emulator stops.
    Hang,
}

impl Fault {
    /// The variant's name, as used by the control plane.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Throttle => "Throttle",
            Fault::ServerError => "ServerError",
            Fault::AccessDenied => "AccessDenied",
            Fault::InvalidJson => "InvalidJson",
            Fault::ResetMidResponse => "ResetMidResponse",
            Fault::Hang => "Hang",
        }
    }

    /// Parses a variant name (as returned by [`Fault::name`]).
    pub fn from_name(s: &str) -> Option<Fault> {
        Some(match s {
            "Throttle" => Fault::Throttle,
            "ServerError" => Fault::ServerError,
            "AccessDenied" => Fault::AccessDenied,
            "InvalidJson" => Fault::InvalidJson,
            "ResetMidResponse" => Fault::ResetMidResponse,
            "Hang" => Fault::Hang,
            _ => return None,
        })
    }
}

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Operation as the SDK spells it (`"InviteMembers"`, `"ListAccounts"`, ...),
    /// or `"Unknown"`.
    pub op: String,
    /// `"guardduty"`, `"organizations"` or `"unknown"`.
    pub service: String,
    /// Account IDs named in the request (in request order).
    pub accounts: Vec<String>,
    /// Fault applied to this call, if any.
    pub fault: Option<Fault>,
    /// Arrival time.
    pub start: Instant,
    /// When the response was handed over (or the request was abandoned);
    /// `None` while in flight.
    pub end: Option<Instant>,
    /// Whether the request had a SigV4 `Authorization` header.
    pub authorized: bool,
    /// HTTP status answered (`None` while in flight / for hung calls).
    pub status: Option<u16>,
}

/// A running emulator. Dropping it (or [`Emulator::stop`]) stops the server
/// and closes every connection.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// [`Emulator::put_member`] on already-locked state (shared with the control plane).
pub(crate) fn put_member_locked(
    st: &mut State,
    detector_id: &str,
    account_id: &str,
    email: &str,
    status: &str,
) {
    st.ensure_detector(detector_id);
    let now = util::now_iso8601();
    let invited_at = (status != "Created").then(|| now.clone());
    st.members
        .entry(detector_id.to_string())
        .or_default()
        .insert(
            account_id.to_string(),
            Member {
                detector_id: detector_id.to_string(),
                account_id: account_id.to_string(),
                email: email.to_string(),
                relationship_status: status.to_string(),
                invited_at,
                updated_at: now,
                invited_message: None,
                disable_email_notification: None,
                invite_count: 0,
            },
        );
}

pub(crate) fn reset_calls_locked(st: &mut State) {
    st.calls.clear();
    st.calls_generation += 1;
    for f in st.flight.values_mut() {
        f.max = f.current;
    }
}

impl Emulator {
    /// Starts on `127.0.0.1:0` with empty state.
    pub async fn start() -> std::io::Result<Emulator> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on `addr` with empty state. Non-loopback addresses are rejected.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<Emulator> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the emulator only binds loopback addresses",
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Shared::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(server::accept_loop(listener, shared.clone(), rx));
        Ok(Emulator {
            shared,
            addr,
            task: Some(task),
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the accept loop and every connection (hung requests included).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    // ---------------------------------------------------------------- GuardDuty

    /// Sets the account that owns the detectors (the GuardDuty administrator;
    /// reported as `masterId` / `administratorId`). Default `999999999999`.
    pub fn set_admin_account(&self, account_id: &str) {
        self.shared.lock().admin_account_id = account_id.to_string();
    }

    /// Adds a detector owned by the current account (idempotent).
    pub fn add_detector(&self, detector_id: &str) {
        self.shared.lock().ensure_detector(detector_id);
    }

    /// Seeds (or overwrites) a member. Creates the detector if needed.
    pub fn put_member(&self, detector_id: &str, account_id: &str, email: &str, status: &str) {
        put_member_locked(
            &mut self.shared.lock(),
            detector_id,
            account_id,
            email,
            status,
        );
    }

    /// Reads a member back.
    pub fn member(&self, detector_id: &str, account_id: &str) -> Option<Member> {
        self.shared
            .lock()
            .members
            .get(detector_id)
            .and_then(|m| m.get(account_id))
            .cloned()
    }

    /// All members of a detector, sorted by account ID.
    pub fn members(&self, detector_id: &str) -> Vec<Member> {
        let st = self.shared.lock();
        let mut v: Vec<Member> = st
            .members
            .get(detector_id)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        v
    }

    /// InviteMembers reports `account_id` as unprocessed with `result` (the
    /// member's state is left unchanged).
    pub fn refuse_invitation(&self, account_id: &str, result: &str) {
        self.shared
            .lock()
            .refusals
            .insert(account_id.to_string(), result.to_string());
    }

    // ------------------------------------------------------------ Organizations

    /// Configures the organization (its accounts are kept across
    /// [`Emulator::clear_organization`]).
    pub fn set_organization(&self, org_id: &str, management_account_id: &str) {
        self.shared.lock().org = Some(Organization {
            id: org_id.to_string(),
            management_account_id: management_account_id.to_string(),
        });
    }

    /// No organization: every Organizations operation answers
    /// `AWSOrganizationsNotInUseException`.
    pub fn clear_organization(&self) {
        self.shared.lock().org = None;
    }

    /// Adds an account (`ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`); re-adding
    /// an existing account updates its status in place. Listing order is
    /// insertion order. Email is `aws+<id>@example.com`, name `Account <id>`.
    pub fn add_org_account(&self, account_id: &str, status: &str) {
        self.shared.lock().upsert_org_account(account_id, status);
    }

    /// IDs of the organization's accounts, in listing order.
    pub fn org_account_ids(&self) -> Vec<String> {
        self.shared
            .lock()
            .org_accounts
            .iter()
            .map(|a| a.id.clone())
            .collect()
    }

    /// ListAccounts: serve an empty page (with a `NextToken`) before every
    /// `every_nth` real page (1 = before every page, including the first);
    /// 0 = off.
    pub fn set_empty_pages(&self, every_nth: usize) {
        self.shared.lock().empty_every = every_nth;
    }

    // -------------------------------------------------------- faults, latency

    /// Latency added before answering every call of `op`.
    pub fn set_latency(&self, op: &str, d: Duration) {
        self.shared.lock().latency.insert(op.to_string(), d);
    }

    /// Latency for every operation without its own.
    pub fn set_default_latency(&self, d: Duration) {
        self.shared.lock().default_latency = Some(d);
    }

    /// The next `times` calls of `op` get `fault` (`usize::MAX` = forever).
    pub fn inject(&self, op: &str, fault: Fault, times: usize) {
        state::push_fault(&self.shared, op, fault, times, None);
    }

    /// Like [`Emulator::inject`], but only for calls whose request names `account_id`.
    pub fn inject_for_account(&self, op: &str, account_id: &str, fault: Fault, times: usize) {
        state::push_fault(&self.shared, op, fault, times, Some(account_id));
    }

    /// Removes every queued fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    // ---------------------------------------------------------------- recording

    /// Every request (control plane excluded), in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// Forgets recorded calls and resets `max_in_flight` to the current count.
    pub fn reset_calls(&self) {
        reset_calls_locked(&mut self.shared.lock());
    }

    /// Number of recorded calls of `op`.
    pub fn count(&self, op: &str) -> usize {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.op == op)
            .count()
    }

    /// Highest number of concurrent in-progress requests seen for `service`
    /// (`"guardduty"` / `"organizations"`) since start or the last reset.
    pub fn max_in_flight(&self, service: &str) -> usize {
        self.shared.lock().flight.get(service).map_or(0, |f| f.max)
    }

    /// Requests of `service` currently in progress.
    pub fn in_flight(&self, service: &str) -> usize {
        self.shared
            .lock()
            .flight
            .get(service)
            .map_or(0, |f| f.current)
    }

    /// TCP connections accepted so far (keep-alive reuse keeps this low).
    pub fn connections_accepted(&self) -> usize {
        self.shared
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Milliseconds between emulator start and `t` (the control plane's time base).
    pub fn millis_since_start(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.shared.started)
            .as_secs_f64()
            * 1000.0
    }

    // -------------------------------------------------------------------- seeds

    /// Deterministic sample used by the demo: detector
    /// [`SAMPLE_DETECTOR_ID`]; organization `o-exampleorgid` managed by
    /// `999999999999`; accounts 222222222222 (ACTIVE), 444444444444
    /// (SUSPENDED), 555555555555 (ACTIVE); GuardDuty member 111111111111
    /// (`Removed`, `111@example.com`).
    pub fn sample_organization(&self) {
        self.set_admin_account(SAMPLE_MANAGEMENT_ACCOUNT_ID);
        self.add_detector(SAMPLE_DETECTOR_ID);
        self.set_organization(SAMPLE_ORG_ID, SAMPLE_MANAGEMENT_ACCOUNT_ID);
        self.add_org_account("222222222222", "ACTIVE");
        self.add_org_account("444444444444", "SUSPENDED");
        self.add_org_account("555555555555", "ACTIVE");
        self.put_member(
            SAMPLE_DETECTOR_ID,
            "111111111111",
            "111@example.com",
            "Removed",
        );
    }

    /// Adds `n` `ACTIVE` org accounts with IDs derived deterministically from
    /// `seed` (distinct from each other and from existing accounts) and
    /// returns them in listing order. Configures the sample organization
    /// (`o-exampleorgid` / `999999999999`) if none is set.
    pub fn large_organization(&self, n: usize, seed: u64) -> Vec<String> {
        let mut st = self.shared.lock();
        if st.org.is_none() {
            st.org = Some(Organization {
                id: SAMPLE_ORG_ID.to_string(),
                management_account_id: SAMPLE_MANAGEMENT_ACCOUNT_ID.to_string(),
            });
        }
        let mut rng = util::SplitMix64(seed);
        let mut seen: HashSet<String> = st.org_index.keys().cloned().collect();
        seen.insert(st.admin_account_id.clone());
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            // 100000000000..=999999999999: always 12 digits, no leading zero.
            let id = (100_000_000_000 + rng.next_u64() % 900_000_000_000).to_string();
            if seen.insert(id.clone()) {
                st.upsert_org_account(&id, "ACTIVE");
                out.push(id);
            }
        }
        out
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Signal the accept loop (it aborts every connection); abort it too in
        // case it is never polled again.
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
