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
//!   `POST /detector/{id}/member/delete` (DeleteMembers),
//!   `POST /detector/{id}/member/invite` (InviteMembers). Errors carry
//!   `x-amzn-ErrorType` and `{"message", "__type"}`: `BadRequestException`
//!   (400), `AccessDeniedException` (403), `TooManyRequestsException` (429),
//!   `InternalServerErrorException` (500). Limits: 1..=50 account IDs / account
//!   details, 12-character account IDs, 1..=64-character emails, 1..=300
//!   character detector IDs, `maxResults` 1..=50.
//!
//!   Per account (HTTP 200, `unprocessedAccounts` entries `{accountId,
//!   result}`; the result texts are [`RESULT_NOT_A_MEMBER`],
//!   [`RESULT_ALREADY_A_MEMBER`] and [`RESULT_ALREADY_INVITED`], whose docs
//!   say which are confirmed):
//!   - GetMembers: `members` entries carry `accountId`, `detectorId`,
//!     `administratorId` and `masterId` (the administrator account),
//!     `email`, `relationshipStatus`, `invitedAt` (absent if never invited)
//!     and `updatedAt` (ISO-8601 strings, `2026-11-30T12:00:00.000Z`);
//!     non-members are unprocessed, not a member.
//!   - CreateMembers: a new member starts `Created`; an existing one (any
//!     status) is unprocessed, already a member.
//!   - DeleteMembers: removes the member records (any status; CreateMembers
//!     then starts afresh); a non-member is unprocessed, not a member.
//!   - InviteMembers: `Created`, `Removed`, `Resigned` become `Invited`
//!     (`invitedAt` and `updatedAt` set); `Invited`, `Enabled`, `Disabled`,
//!     `EmailVerificationInProgress`, `EmailVerificationFailed` are
//!     unprocessed, already invited, and nothing changes (the last three are
//!     the emulator's choice, unconfirmed); a non-member is unprocessed, not
//!     a member; an account given to [`Emulator::refuse_invitation`] is
//!     unprocessed with that result.
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
//! are not recorded. Each call in `GET /_emulator/calls` has `op`,
//! `service`, `accounts`, `fault`, `startMs`, `endMs`, `status`,
//! `authorized` and `disableEmailNotification` (InviteMembers: the request's
//! flag, `null` when it did not say; `null` for other operations), as
//! [`Call`].
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
//! * `POST /_emulator/member` with
//!   `{"detectorId", "accountId", "status", "email"?}` seeds (or overwrites)
//!   one member with any status (e-mail default `aws+<id>@example.com`), as
//!   [`Emulator::put_member`]; answers the member as
//!   `GET /_emulator/member/...` does (400 if a field is missing).
//! * `POST /_emulator/empty-pages` with `{"every": n}` is
//!   [`Emulator::set_empty_pages`] (0 = off).

mod control;
mod gd_wire;
mod guardduty;
mod members;
mod model;
mod organizations;
mod reply;
mod sample;
mod server;
mod state;
mod util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use model::{Call, Fault, MEMBER_STATUSES, Member};
use state::{Organization, Shared};

/// Result text for accounts that are not members (GetMembers, DeleteMembers,
/// InviteMembers). Confirmed only for the monitoring APIs
/// (StartMonitoringMembers / StopMonitoringMembers); for these operations it
/// is the likely candidate, unconfirmed.
pub const RESULT_NOT_A_MEMBER: &str = members::NOT_A_MEMBER;
/// Result text GuardDuty uses for CreateMembers on an existing member.
/// Confirmed (cloud-custodian #3209, awsdocs `create-members.md`).
pub const RESULT_ALREADY_A_MEMBER: &str = members::ALREADY_A_MEMBER;
/// Result text of InviteMembers on a member that is already invited or
/// associated. Confirmed for `Invited` and `Enabled`; the emulator also uses
/// it for `Disabled` and the e-mail-verification statuses (unconfirmed).
pub const RESULT_ALREADY_INVITED: &str = members::ALREADY_INVITED;
/// Message of the Organizations `TooManyRequestsException` fault.
pub const ORGANIZATIONS_THROTTLE_MESSAGE: &str = organizations::THROTTLE_MESSAGE;

/// Detector ID used by [`Emulator::sample_organization`].
pub const SAMPLE_DETECTOR_ID: &str = sample::SAMPLE_DETECTOR_ID;
/// Organization ID used by [`Emulator::sample_organization`].
pub const SAMPLE_ORG_ID: &str = sample::SAMPLE_ORG_ID;
/// Management account used by [`Emulator::sample_organization`].
pub const SAMPLE_MANAGEMENT_ACCOUNT_ID: &str = sample::SAMPLE_MANAGEMENT_ACCOUNT_ID;

/// A running emulator. Dropping it (or [`Emulator::stop`]) stops the server
/// and closes every connection.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
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

    /// Seeds (or overwrites) a member. Creates the detector if needed. Any
    /// status is accepted (every one of [`MEMBER_STATUSES`], or another string
    /// to test how unknown statuses are handled). `invitedAt` is set for
    /// `Invited`, `Enabled`, `Disabled`, `Removed` and `Resigned`, not for
    /// `Created`, `EmailVerificationInProgress`, `EmailVerificationFailed` or
    /// unknown statuses; `invite_count` starts at 0.
    pub fn put_member(&self, detector_id: &str, account_id: &str, email: &str, status: &str) {
        self.shared
            .lock()
            .put_member(detector_id, account_id, email, status);
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

    /// InviteMembers reports `account_id`, if it is a member, as unprocessed
    /// with `result` whatever its status (the member's state is left
    /// unchanged; a non-member is still unprocessed as not a member).
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
        self.shared.lock().reset_calls();
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
    /// (SUSPENDED), 555555555555 (ACTIVE); GuardDuty members 111111111111
    /// (`Removed`, `111@example.com`), 131313131313 (`Enabled`,
    /// `131@example.com`), 141414141414 (`Invited`, `141@example.com`),
    /// 161616161616 (`EmailVerificationFailed`, `161@example.com`) and
    /// 171717171717 (`Disabled`, `171@example.com`), none of them in the
    /// organization.
    pub fn sample_organization(&self) {
        self.shared.lock().seed_sample_organization();
    }

    /// Adds `n` `ACTIVE` org accounts with IDs derived deterministically from
    /// `seed` (distinct from each other and from existing accounts) and
    /// returns them in listing order. Configures the sample organization
    /// (`o-exampleorgid` / `999999999999`) if none is set.
    pub fn large_organization(&self, n: usize, seed: u64) -> Vec<String> {
        self.shared.lock().seed_large_organization(n, seed)
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
