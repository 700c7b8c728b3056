//! A local emulator of the AWS GuardDuty member APIs (administrator and
//! member side), the AWS Organizations account APIs, AWS Account
//! `ListRegions` and AWS STS `AssumeRole` / `GetCallerIdentity`, speaking the
//! real wire protocols so that the real `aws-sdk-guardduty`,
//! `aws-sdk-organizations`, `aws-sdk-account` and `aws-sdk-sts` clients (and
//! `aws_config::sts::AssumeRoleProvider`) work against it unmodified: point
//! them at [`Emulator::endpoint`] with `endpoint_url`, or
//! `AWS_ENDPOINT_URL_GUARDDUTY` / `AWS_ENDPOINT_URL_ORGANIZATIONS` /
//! `AWS_ENDPOINT_URL_ACCOUNT` / `AWS_ENDPOINT_URL_STS`. One endpoint serves
//! every service and every Region.
//!
//! It is a test/demo/benchmark tool only and is never deployed. It binds
//! `127.0.0.1` only.
//!
//! # Protocols
//!
//! * Every request must carry an `Authorization` header starting with
//!   `AWS4-HMAC-SHA256` (signatures are not verified); otherwise the answer is
//!   403 `UnrecognizedClientException` (STS: `MissingAuthenticationToken`).
//! * **Region and identity.** The SigV4 credential scope
//!   (`Credential=<AKID>/<date>/<region>/<service>/aws4_request`) gives each
//!   request its Region (default `us-east-1`, [`DEFAULT_REGION`], when there is
//!   no scope) and its acting account: an access key ID the emulator's
//!   AssumeRole issued (`ASIA…`) acts as that role's (member) account; any
//!   other acts as the administrator account ([`Emulator::set_admin_account`],
//!   default `999999999999`). The service is decided by the path
//!   (`/detector…`, `/invitation`: GuardDuty; `/listRegions`: Account), then
//!   by `X-Amz-Target` (Organizations), then by the scope's service name
//!   (`sts`, `account`, `organizations`, `guardduty`).
//! * **GuardDuty** (restJson1) keeps detectors, members and invitations per
//!   account and Region: every operation works on the acting account's
//!   state in the Region it was signed for. A Region GuardDuty refuses (named
//!   by [`Emulator::disable_region`], or `DISABLED` in the Region list: an
//!   opt-in Region not enabled) answers every GuardDuty call, whoever makes
//!   it, 403 `UnrecognizedClientException` "The security token included in
//!   the request is invalid." (no fault is taken from the queue). A Region
//!   where the account has no detector answers ListDetectors with an empty
//!   list. Operations: `GET /detector` (ListDetectors),
//!   `POST /detector/{id}/member/get` (GetMembers),
//!   `POST /detector/{id}/member` (CreateMembers),
//!   `POST /detector/{id}/member/delete` (DeleteMembers),
//!   `POST /detector/{id}/member/invite` (InviteMembers), and on the member
//!   side `POST /detector` (CreateDetector), `GET /invitation`
//!   (ListInvitations), `POST /detector/{id}/administrator`
//!   (AcceptAdministratorInvitation). Errors carry
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
//!     unprocessed with that result. Each member it invites gets a pending
//!     invitation (`Invited`, a fresh 32-hex-digit `invitationId`,
//!     `invitedAt`) from the acting account in its own account, in that
//!     Region, replacing an older one from the same sender.
//!   - DeleteMembers also withdraws the deleted member's pending invitation
//!     (unconfirmed).
//!   - CreateDetector answers `{"detectorId"}` (fresh, 32 hex digits); a
//!     second detector of the account in the Region is 400
//!     [`DETECTOR_EXISTS`] (confirmed wording).
//!   - ListInvitations answers `{"invitations": [{"accountId",
//!     "invitationId", "relationshipStatus", "invitedAt"}], "nextToken"?}`,
//!     oldest first, `maxResults` 1..=50.
//!   - AcceptAdministratorInvitation (`{"administratorId", "invitationId"}`):
//!     a detector the acting account does not own in the Region is 400
//!     not-owned (as every detector operation); no pending invitation from
//!     that administrator is 400 [`NO_INVITATION`] (confirmed wording); a
//!     different `invitationId` is 400 "…invalid or out-of-range value…"
//!     (unconfirmed); after accepting another administrator in the Region,
//!     400 (unconfirmed wording). Success answers `{}`: the invitation is
//!     gone, [`Emulator::administrator_of`] names the administrator, and the
//!     administrator's member record of the account in that Region, if
//!     `Invited`, is `Enabled`.
//! * **Organizations** (awsJson1_1): `POST /` with
//!   `X-Amz-Target: AWSOrganizationsV20161128.{DescribeAccount,ListAccounts,DescribeOrganization}`.
//!   Errors are `{"__type", "Message"}` with HTTP 400 (500 for
//!   `ServiceException`). With no organization configured every operation
//!   answers `AWSOrganizationsNotInUseException`. `ListAccounts` pages hold
//!   at most 20 accounts (default 20); `MaxResults` > 20 is
//!   `InvalidInputException`.
//! * **AWS Account** (restJson1): `POST /listRegions` (ListRegions) with
//!   `{"MaxResults"? (1..=50), "NextToken"?, "RegionOptStatusContains"?}`
//!   answers `{"Regions": [{"RegionName", "RegionOptStatus"}], "NextToken"?}`:
//!   the Region list ([`Emulator::set_regions`]; default [`DEFAULT_REGIONS`],
//!   the 34 commercial Regions, the 17 opt-in ones `DISABLED`), in its order,
//!   filtered by status (any of the given), in pages of at most
//!   `min(MaxResults, page size)` ([`Emulator::set_regions_page_size`],
//!   default [`DEFAULT_REGIONS_PAGE_SIZE`]). Errors `{"message"}` with
//!   `x-amzn-ErrorType`: `ValidationException` (400, with `reason` and
//!   `fieldList`; MaxResults out of range, an unknown status, a bad
//!   NextToken), `AccessDeniedException` (403), `TooManyRequestsException`
//!   (429), `InternalServerException` (500).
//! * **STS** (awsQuery: form-encoded `POST /`, `text/xml` answers, errors as
//!   `<ErrorResponse><Error><Type>Sender|Receiver</Type><Code>…`):
//!   - AssumeRole (`RoleArn`, `RoleSessionName`, `ExternalId`,
//!     `DurationSeconds`): input validation as AWS (`ValidationError` "1
//!     validation error detected: Value '…' at 'roleSessionName' failed to
//!     satisfy constraint: …"; `RoleSessionName` 2..=64 `[\w+=,.@-]*`,
//!     `ExternalId` 2..=1224, `RoleArn` 20..=2048, `DurationSeconds`
//!     900..=43200, and at most 3600, the roles' `MaxSessionDuration`:
//!     [`STS_DURATION_EXCEEDS`]). A role that does not exist
//!     ([`Emulator::add_member_role`]) or whose external ID the request does
//!     not give exactly is 403 `AccessDenied` "User: `<caller ARN>` is not
//!     authorized to perform: sts:AssumeRole on resource: `<RoleArn>`". Success
//!     issues `ASIA…` credentials for one hour (or `DurationSeconds`) and
//!     `AssumedRoleUser` `arn:aws:sts::<account>:assumed-role/<name>/<session>`.
//!   - GetCallerIdentity answers the acting identity's `Account`, `Arn` and
//!     `UserId`: a member session's assumed-role ARN and `AROA…:<session>`,
//!     or the administrator's `arn:aws:sts::<admin>:assumed-role/`
//!     [`ADMIN_ROLE_NAME`]`/`[`ADMIN_SESSION_NAME`] (the function's
//!     execution role).
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
//! emu.add_detector_in("eu-west-1", "det2");         // the administrator's, in eu-west-1
//! emu.disable_region("ap-east-1");                 // GuardDuty refuses ap-east-1
//! emu.set_regions(&[("us-east-1", "ENABLED_BY_DEFAULT"), ("ap-east-1", "ENABLED")]);
//! emu.add_member_role("191919191919", "GuardDutyInviterMember", Some("ext-1"));
//! emu.add_member_detector("191919191919", "us-east-1", "d19");
//! emu.add_invitation("191919191919", "us-east-1", "888888888888", "inv-other");
//! // ... point SDK clients at emu.endpoint() ...
//! let _calls = emu.calls();                        // every request, in arrival order
//! let _n = emu.count("InviteMembers");
//! let _max = emu.max_in_flight("guardduty");
//! let _max = emu.max_in_flight_for("guardduty", "us-east-1", "191919191919");
//! let _m = emu.member("det1", "111111111111");
//! let _i = emu.invitations("191919191919", "us-east-1");
//! emu.stop().await;                                // dropping it also stops the server
//! # Ok(()) }
//! ```
//!
//! Faults are a queue per operation (op names as the SDK spells them,
//! `ListRegions`, `AssumeRole`, `GetCallerIdentity`, `CreateDetector`,
//! `ListInvitations` and `AcceptAdministratorInvitation` included): each
//! call takes the first queued rule for its operation that matches (a rule
//! made with [`Emulator::inject_for_account`] only matches requests naming
//! that account, or made by it: AssumeRole names the account of its
//! `RoleArn`, AcceptAdministratorInvitation its `administratorId`, and a
//! member session's calls are made by the member account). `Throttle`, `ServerError`, `AccessDenied` and `Hang` replace the
//! operation (state is not touched); `InvalidJson` and `ResetMidResponse`
//! corrupt the response *after* the operation has run (its state change
//! happened, like a response lost on the way back).
//!
//! Latency ([`Emulator::set_latency`], [`Emulator::set_default_latency`]) is
//! a per-request sleep before answering; concurrent requests sleep
//! independently. A request counts as in flight from arrival until its
//! response body has been handed over (a `Hang` counts until the emulator
//! stops or the client drops the connection). It counts under three keys,
//! whose highest concurrency [`Emulator::max_in_flight`] reports (and
//! `GET /_emulator/stats` as `maxInFlight`): the service (`"guardduty"`,
//! `"organizations"`, `"account"`, `"sts"`), the service and Region
//! (`"guardduty:us-east-1"`), and the service, Region and acting account
//! (`"guardduty:us-east-1:191919191919"`): "at most N calls in flight per
//! service, Region and calling account" is every third-kind key at most N
//! ([`Emulator::max_in_flight_by_key`]).
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
//! `authorized`, `disableEmailNotification` (InviteMembers: the request's
//! flag, `null` when it did not say; `null` for other operations), `region`
//! (of the credential scope), `account` (the acting account) and `traceId`
//! (the `X-Amzn-Trace-Id` header, `null` without one), as [`Call`]. `GET /_emulator/member/{detectorId}/{accountId}?region=eu-west-1`
//! reads a member of the administrator in another Region.
//!
//! Seeding routes, for harnesses that drive the binary (the benchmark and
//! the e2e tests). Every one that takes a `"region"` defaults it to
//! `us-east-1`; they answer `{"ok": true}` unless said otherwise, and 400
//! with `{"error"}` for a missing or mistyped field.
//!
//! * `GET /_emulator/org-accounts` answers
//!   `{"organizationId": "o-…"|null, "accountIds": [...]}`, the
//!   organization's accounts in listing order (as
//!   [`Emulator::org_account_ids`]).
//! * `POST /_emulator/members` with
//!   `{"detectorId", "accountIds": [...], "status"?: "Removed", "region"?}` seeds (or
//!   overwrites) those GuardDuty members, e-mail `aws+<id>@example.com`,
//!   creating the detector if needed (as [`Emulator::put_member`]); answers
//!   `{"ok": true, "members": n}`.
//! * `POST /_emulator/member` with
//!   `{"detectorId", "accountId", "status", "email"?, "region"?}` seeds (or overwrites)
//!   one member with any status (e-mail default `aws+<id>@example.com`), as
//!   [`Emulator::put_member`]; answers the member as
//!   `GET /_emulator/member/...` does (400 if a field is missing).
//! * `POST /_emulator/empty-pages` with `{"every": n}` is
//!   [`Emulator::set_empty_pages`] (0 = off).
//! * `POST /_emulator/detector` with `{"detectorId", "region"?}` adds an
//!   administrator detector ([`Emulator::add_detector_in`]).
//! * `POST /_emulator/regions` with `{"regions"?: [{"regionName": "ap-east-1",
//!   "regionOptStatus": "ENABLED"}, ...], "pageSize"?: 1..=50}` replaces the
//!   Region list and/or sets the ListRegions page size
//!   ([`Emulator::set_regions`], [`Emulator::set_regions_page_size`]);
//!   `GET /_emulator/regions` answers `{"regions": [{"regionName",
//!   "regionOptStatus"}], "pageSize", "disabledRegions": [...]}`.
//! * `POST /_emulator/disable-region` / `POST /_emulator/enable-region` with
//!   `{"region"}` ([`Emulator::disable_region`], [`Emulator::enable_region`]).
//! * `POST /_emulator/member-role` with `{"accountId", "role",
//!   "externalId"?}` ([`Emulator::add_member_role`]).
//! * `POST /_emulator/member-detector` with `{"accountId", "region",
//!   "detectorId"}` ([`Emulator::add_member_detector`]);
//!   `GET /_emulator/detectors/{accountId}/{region}` answers
//!   `{"detectorIds": [...]}` of any account, the administrator's included
//!   ([`Emulator::detectors_of`]).
//! * `POST /_emulator/invitation` with `{"accountId", "region",
//!   "fromAccountId", "invitationId"?}` (a fresh ID when absent) adds a
//!   pending invitation and answers it ([`Emulator::add_invitation`]);
//!   `GET /_emulator/invitations/{accountId}/{region}` answers
//!   `[{"accountId", "invitationId", "relationshipStatus", "invitedAt"}]`
//!   ([`Emulator::invitations`]); `GET /_emulator/administrator/{accountId}/{region}`
//!   answers `{"administratorId": "…"|null}` ([`Emulator::administrator_of`]).

mod account;
mod control;
mod control_more;
mod control_wire;
mod dispatch;
mod flight;
mod gd_state;
mod gd_wire;
mod guardduty;
mod identity;
mod invitations;
mod members;
mod model;
mod organizations;
mod regions;
mod reply;
mod sample;
#[cfg(feature = "sdk")]
pub mod sdk;
mod server;
mod space;
mod state;
mod sts;
mod sts_wire;
mod util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use model::{Call, Fault, Invitation, MEMBER_STATUSES, Member, REGION_OPT_STATUSES};
pub use regions::{DEFAULT_REGIONS, DEFAULT_REGIONS_PAGE_SIZE};
use state::{Organization, Shared};

/// The Region of requests without a credential scope, and of every API and
/// control route that takes no Region: `us-east-1`.
pub const DEFAULT_REGION: &str = identity::DEFAULT_REGION;
/// Role name in the administrator identity's ARN
/// (`arn:aws:sts::<admin>:assumed-role/<ADMIN_ROLE_NAME>/<ADMIN_SESSION_NAME>`).
pub const ADMIN_ROLE_NAME: &str = identity::ADMIN_ROLE_NAME;
/// Session name in the administrator identity's ARN.
pub const ADMIN_SESSION_NAME: &str = identity::ADMIN_SESSION_NAME;
/// CreateDetector where the account has a detector in the Region (400).
pub const DETECTOR_EXISTS: &str = invitations::DETECTOR_EXISTS;
/// AcceptAdministratorInvitation without an invitation from that
/// administrator (400).
pub const NO_INVITATION: &str = invitations::NO_INVITATION;
/// AssumeRole `DurationSeconds` over the role's maximum (3600): 400
/// `ValidationError`.
pub const STS_DURATION_EXCEEDS: &str = sts::DURATION_EXCEEDS;

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
/// The sample administrator's detector in `eu-west-1`.
pub const SAMPLE_DETECTOR_ID_EU_WEST_1: &str = sample::SAMPLE_DETECTOR_ID_EU_WEST_1;
/// The sample administrator's detector in `us-west-2`.
pub const SAMPLE_DETECTOR_ID_US_WEST_2: &str = sample::SAMPLE_DETECTOR_ID_US_WEST_2;
/// The sample's member account (outside the organization, not a member).
pub const SAMPLE_MEMBER_ACCOUNT_ID: &str = sample::SAMPLE_MEMBER_ACCOUNT_ID;
/// The sample member account's role (no external ID).
pub const SAMPLE_MEMBER_ROLE_NAME: &str = sample::SAMPLE_MEMBER_ROLE_NAME;
/// The sample member account's detector in `us-east-1`.
pub const SAMPLE_MEMBER_DETECTOR_ID: &str = sample::SAMPLE_MEMBER_DETECTOR_ID;
/// The sample's ListRegions page size.
pub const SAMPLE_REGIONS_PAGE_SIZE: usize = sample::SAMPLE_REGIONS_PAGE_SIZE;

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
    /// reported as `masterId` / `administratorId`, and the account every
    /// access key the emulator did not issue acts as). Default
    /// `999999999999`. The administrator's detectors and members move with
    /// it.
    pub fn set_admin_account(&self, account_id: &str) {
        self.shared.lock().rename_admin(account_id);
    }

    /// Adds a detector owned by the administrator in `us-east-1` (idempotent).
    pub fn add_detector(&self, detector_id: &str) {
        self.add_detector_in(DEFAULT_REGION, detector_id);
    }

    /// Adds a detector owned by the administrator in `region` (idempotent).
    pub fn add_detector_in(&self, region: &str, detector_id: &str) {
        self.shared
            .lock()
            .admin_space_mut(region)
            .ensure_detector(detector_id);
    }

    /// Seeds (or overwrites) a member in `us-east-1`: [`Emulator::put_member_in`].
    pub fn put_member(&self, detector_id: &str, account_id: &str, email: &str, status: &str) {
        self.put_member_in(DEFAULT_REGION, detector_id, account_id, email, status);
    }

    /// Seeds (or overwrites) a member of the administrator's detector in
    /// `region`. Creates the detector if needed. Any status is accepted
    /// (every one of [`MEMBER_STATUSES`], or another string to test how
    /// unknown statuses are handled). `invitedAt` is set for `Invited`,
    /// `Enabled`, `Disabled`, `Removed` and `Resigned`, not for `Created`,
    /// `EmailVerificationInProgress`, `EmailVerificationFailed` or unknown
    /// statuses; `invite_count` starts at 0. An `Invited` member also has a
    /// pending invitation from the administrator in its own account and
    /// Region (a fresh one unless one is pending); any other status
    /// withdraws it.
    pub fn put_member_in(
        &self,
        region: &str,
        detector_id: &str,
        account_id: &str,
        email: &str,
        status: &str,
    ) {
        self.shared
            .lock()
            .put_member_in(region, detector_id, account_id, email, status);
    }

    /// Reads a member back (`us-east-1`).
    pub fn member(&self, detector_id: &str, account_id: &str) -> Option<Member> {
        self.member_in(DEFAULT_REGION, detector_id, account_id)
    }

    /// Reads a member of the administrator's detector in `region` back.
    pub fn member_in(&self, region: &str, detector_id: &str, account_id: &str) -> Option<Member> {
        self.shared
            .lock()
            .member_in(region, detector_id, account_id)
            .cloned()
    }

    /// All members of a detector in `us-east-1`, sorted by account ID.
    pub fn members(&self, detector_id: &str) -> Vec<Member> {
        self.members_in(DEFAULT_REGION, detector_id)
    }

    /// All members of the administrator's detector in `region`, sorted by
    /// account ID.
    pub fn members_in(&self, region: &str, detector_id: &str) -> Vec<Member> {
        let st = self.shared.lock();
        let mut v: Vec<Member> = st
            .space(&st.admin_account_id, region)
            .and_then(|s| s.members.get(detector_id))
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

    // ------------------------------------------------------- Regions, Account

    /// GuardDuty refuses every call signed for `region` (any identity): 403
    /// `UnrecognizedClientException`, as for an opt-in Region not enabled.
    /// The Region list ListRegions answers is not changed.
    pub fn disable_region(&self, region: &str) {
        self.shared
            .lock()
            .regions
            .disabled
            .insert(region.to_string());
    }

    /// Undoes [`Emulator::disable_region`] (a Region the list reports
    /// `DISABLED` stays refused).
    pub fn enable_region(&self, region: &str) {
        self.shared.lock().regions.disabled.remove(region);
    }

    /// Replaces the Region list ListRegions answers: `(name, status)` in
    /// listing order, statuses from [`REGION_OPT_STATUSES`]. GuardDuty
    /// refuses the Regions listed `DISABLED`.
    pub fn set_regions(&self, regions: &[(&str, &str)]) {
        self.shared.lock().regions.list = regions
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
    }

    /// The Region list, `(name, status)` in listing order.
    pub fn regions(&self) -> Vec<(String, String)> {
        self.shared.lock().regions.list.clone()
    }

    /// Most Regions per ListRegions page (1..=50; a request's `MaxResults`
    /// can only lower it). Default [`DEFAULT_REGIONS_PAGE_SIZE`].
    pub fn set_regions_page_size(&self, n: usize) {
        self.shared.lock().regions.page_size = n.clamp(1, 50);
    }

    // -------------------------------------------------------- member accounts

    /// A role AssumeRole can assume: `role` is the name, or the path and
    /// name (`ops/GuardDutyInviterMember`; the `RoleArn` must then name the
    /// path too). With `external_id`, AssumeRole must give exactly that
    /// `ExternalId` (else 403 `AccessDenied`); without, any or none. Re-adding
    /// a role replaces it.
    pub fn add_member_role(&self, account_id: &str, role: &str, external_id: Option<&str>) {
        self.shared
            .lock()
            .iam
            .add_role(account_id, role, external_id);
    }

    /// Adds a detector of `account_id` in `region` (idempotent).
    pub fn add_member_detector(&self, account_id: &str, region: &str, detector_id: &str) {
        self.shared
            .lock()
            .space_mut(account_id, region)
            .ensure_detector(detector_id);
    }

    /// The detectors of any account (the administrator's included) in
    /// `region`, in creation order.
    pub fn detectors_of(&self, account_id: &str, region: &str) -> Vec<String> {
        self.shared
            .lock()
            .space(account_id, region)
            .map(|s| s.detectors.clone())
            .unwrap_or_default()
    }

    /// Gives `account_id` in `region` a pending invitation from
    /// `from_account` (for instance another administrator's), replacing a
    /// pending one from the same sender.
    pub fn add_invitation(
        &self,
        account_id: &str,
        region: &str,
        from_account: &str,
        invitation_id: &str,
    ) {
        self.shared
            .lock()
            .add_invitation(account_id, region, from_account, invitation_id);
    }

    /// The pending invitations of `account_id` in `region`, oldest first (as
    /// ListInvitations answers them).
    pub fn invitations(&self, account_id: &str, region: &str) -> Vec<Invitation> {
        self.shared
            .lock()
            .space(account_id, region)
            .map(|s| s.invitations.clone())
            .unwrap_or_default()
    }

    /// The administrator whose invitation `account_id` accepted in `region`.
    pub fn administrator_of(&self, account_id: &str, region: &str) -> Option<String> {
        self.shared
            .lock()
            .space(account_id, region)
            .and_then(|s| s.administrator.clone())
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

    /// Highest number of concurrent in-progress requests seen under `key`
    /// since start or the last reset: a service (`"guardduty"`,
    /// `"organizations"`, `"account"`, `"sts"`), `"<service>:<region>"` or
    /// `"<service>:<region>:<acting account>"`.
    pub fn max_in_flight(&self, key: &str) -> usize {
        self.shared.lock().flight.get(key).map_or(0, |f| f.max)
    }

    /// [`Emulator::max_in_flight`] of `service` in `region`.
    pub fn max_in_flight_in(&self, service: &str, region: &str) -> usize {
        self.max_in_flight(&format!("{service}:{region}"))
    }

    /// [`Emulator::max_in_flight`] of `service` in `region` for calls made
    /// by `account_id`.
    pub fn max_in_flight_for(&self, service: &str, region: &str, account_id: &str) -> usize {
        self.max_in_flight(&format!("{service}:{region}:{account_id}"))
    }

    /// Every key's highest concurrency (the three kinds of keys together).
    pub fn max_in_flight_by_key(&self) -> std::collections::BTreeMap<String, usize> {
        let st = self.shared.lock();
        st.flight.iter().map(|(k, f)| (k.clone(), f.max)).collect()
    }

    /// Requests currently in progress under `key` (as [`Emulator::max_in_flight`]).
    pub fn in_flight(&self, key: &str) -> usize {
        self.shared.lock().flight.get(key).map_or(0, |f| f.current)
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
    /// organization (141414141414 has the matching pending invitation in its
    /// account, like every `Invited` member).
    ///
    /// Beyond `us-east-1`: administrator detectors
    /// [`SAMPLE_DETECTOR_ID_EU_WEST_1`] in `eu-west-1` and
    /// [`SAMPLE_DETECTOR_ID_US_WEST_2`] in `us-west-2` (no members); the
    /// Region list [`DEFAULT_REGIONS`] with `ap-east-1` `ENABLED` (opt-in
    /// enabled, but no administrator detector there) and `me-south-1`
    /// `DISABLED` (GuardDuty refuses it), in ListRegions pages of
    /// [`SAMPLE_REGIONS_PAGE_SIZE`] (18 enabled Regions: two pages); and the
    /// member account [`SAMPLE_MEMBER_ACCOUNT_ID`] (191919191919, outside the
    /// organization, not a GuardDuty member) with the role
    /// [`SAMPLE_MEMBER_ROLE_NAME`] (`GuardDutyInviterMember`, no external ID)
    /// and the detector [`SAMPLE_MEMBER_DETECTOR_ID`] in `us-east-1`.
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
