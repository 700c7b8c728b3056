//! Set-up shared by the emulator's integration tests: SDK clients pointed at
//! an emulator (any Region, any credentials), short GuardDuty calls, and a
//! plain-HTTP client for the control plane and raw requests.
#![allow(dead_code)]

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_guardduty::config::SharedCredentialsProvider;
use aws_sdk_guardduty::error::SdkError;
use aws_sdk_guardduty::types::{AccountDetail, UnprocessedAccount};
use emulator::Emulator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The sample's `us-east-1` detector.
pub const DET: &str = emulator::SAMPLE_DETECTOR_ID;

/// How the SDK retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The SDK's default (standard, 3 attempts, default backoff).
    Default,
    /// Standard with a 5 ms initial backoff, to keep fault tests fast.
    Fast,
}

/// An SDK configuration for `emu` in `region`, signed with the
/// administrator's static key.
pub async fn config_in(
    emu: &Emulator,
    region: &'static str,
    retry: Retry,
) -> aws_config::SdkConfig {
    let mut loader = emulator::sdk::config_loader(&emu.endpoint(), region);
    if retry == Retry::Fast {
        loader = loader
            .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(5)));
    }
    loader.load().await
}

/// GuardDuty and Organizations clients in `us-east-1`.
pub async fn clients_with(
    emu: &Emulator,
    retry: Retry,
) -> (aws_sdk_guardduty::Client, aws_sdk_organizations::Client) {
    let cfg = config_in(emu, "us-east-1", retry).await;
    (
        aws_sdk_guardduty::Client::new(&cfg),
        aws_sdk_organizations::Client::new(&cfg),
    )
}

/// Clients with the SDK's default (standard) retry configuration.
pub async fn clients(emu: &Emulator) -> (aws_sdk_guardduty::Client, aws_sdk_organizations::Client) {
    clients_with(emu, Retry::Default).await
}

/// Standard retry (3 attempts) with a short backoff, to keep fault tests fast.
pub async fn fast_clients(
    emu: &Emulator,
) -> (aws_sdk_guardduty::Client, aws_sdk_organizations::Client) {
    clients_with(emu, Retry::Fast).await
}

/// A GuardDuty client in `region` (fast retries).
pub async fn guardduty_in(emu: &Emulator, region: &'static str) -> aws_sdk_guardduty::Client {
    aws_sdk_guardduty::Client::new(&config_in(emu, region, Retry::Fast).await)
}

/// A GuardDuty client in `us-east-1` (fast retries).
pub async fn guardduty(emu: &Emulator) -> aws_sdk_guardduty::Client {
    guardduty_in(emu, "us-east-1").await
}

/// The configuration of `base` with credentials from AssumeRole of `role_arn`
/// (through the same emulator), as a function acting in a member account
/// builds it.
pub async fn assumed(
    base: &aws_config::SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
) -> aws_config::SdkConfig {
    let mut provider = AssumeRoleProvider::builder(role_arn).session_name("guardduty-inviter");
    if let Some(e) = external_id {
        provider = provider.external_id(e);
    }
    let provider = provider.configure(base).build().await;
    base.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

/// An emulator holding the sample organization.
pub async fn sample() -> Emulator {
    let emu = Emulator::start().await.unwrap();
    emu.sample_organization();
    emu
}

pub fn detail(id: &str, email: &str) -> AccountDetail {
    AccountDetail::builder().account_id(id).email(email).build()
}

/// `n` account IDs from `base` on.
pub fn ids(n: usize, base: u64) -> Vec<String> {
    (0..n as u64).map(|i| format!("{:012}", base + i)).collect()
}

fn owned<S: AsRef<str>>(ids: &[S]) -> Option<Vec<String>> {
    Some(ids.iter().map(|s| s.as_ref().to_string()).collect())
}

type GdResult<O, E> = Result<O, SdkError<E, aws_sdk_guardduty::config::http::HttpResponse>>;

pub async fn get_members<S: AsRef<str>>(
    gd: &aws_sdk_guardduty::Client,
    detector: &str,
    ids: &[S],
) -> GdResult<
    aws_sdk_guardduty::operation::get_members::GetMembersOutput,
    aws_sdk_guardduty::operation::get_members::GetMembersError,
> {
    let req = gd.get_members().detector_id(detector);
    req.set_account_ids(owned(ids)).send().await
}

pub async fn invite<S: AsRef<str>>(
    gd: &aws_sdk_guardduty::Client,
    detector: &str,
    ids: &[S],
) -> GdResult<
    aws_sdk_guardduty::operation::invite_members::InviteMembersOutput,
    aws_sdk_guardduty::operation::invite_members::InviteMembersError,
> {
    let req = gd.invite_members().detector_id(detector);
    req.set_account_ids(owned(ids)).send().await
}

pub async fn delete<S: AsRef<str>>(
    gd: &aws_sdk_guardduty::Client,
    detector: &str,
    ids: &[S],
) -> GdResult<
    aws_sdk_guardduty::operation::delete_members::DeleteMembersOutput,
    aws_sdk_guardduty::operation::delete_members::DeleteMembersError,
> {
    let req = gd.delete_members().detector_id(detector);
    req.set_account_ids(owned(ids)).send().await
}

/// CreateMembers of `(account, e-mail)` pairs.
pub async fn create(
    gd: &aws_sdk_guardduty::Client,
    detector: &str,
    details: &[(&str, &str)],
) -> GdResult<
    aws_sdk_guardduty::operation::create_members::CreateMembersOutput,
    aws_sdk_guardduty::operation::create_members::CreateMembersError,
> {
    let list = details.iter().map(|(a, e)| detail(a, e)).collect();
    let req = gd.create_members().detector_id(detector);
    req.set_account_details(Some(list)).send().await
}

/// The detector IDs ListDetectors answers (one page).
pub async fn detector_ids(gd: &aws_sdk_guardduty::Client) -> Vec<String> {
    let out = gd.list_detectors().send().await.unwrap();
    out.detector_ids().to_vec()
}

/// Organizations DescribeAccount.
pub async fn describe(
    org: &aws_sdk_organizations::Client,
    account_id: &str,
) -> Result<
    aws_sdk_organizations::operation::describe_account::DescribeAccountOutput,
    aws_sdk_organizations::error::SdkError<
        aws_sdk_organizations::operation::describe_account::DescribeAccountError,
        aws_sdk_organizations::config::http::HttpResponse,
    >,
> {
    org.describe_account().account_id(account_id).send().await
}

/// `(accountId, result)` of an operation's `unprocessedAccounts`, sorted.
pub fn unprocessed(list: &[UnprocessedAccount]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|u| {
            (
                u.account_id().unwrap_or_default().to_string(),
                u.result().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

pub fn pair(id: &str, result: &str) -> (String, String) {
    (id.to_string(), result.to_string())
}

/// Sends one HTTP/1.1 request (Connection: close) to `addr`; returns status,
/// head and body.
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

/// A control-plane request to `emu` (`path` below `/_emulator/`); returns
/// status and body as JSON (`Null` when it is not JSON).
pub async fn control(
    emu: &Emulator,
    method: &str,
    path: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let addr = emu.local_addr().to_string();
    let (status, _, out) = request(&addr, method, &format!("/_emulator/{path}"), &[], &text).await;
    (status, serde_json::from_str(&out).unwrap_or_default())
}

/// The exact wordings of FIELD-NOTES.md section 3.
pub const NOT_A_MEMBER: &str = "The request is rejected because the given account ID is not an associated member of account the current account.";
pub const ALREADY_A_MEMBER: &str = "The request is rejected because the given account ID is already a member or associated member of the current account.";
pub const ALREADY_INVITED: &str = "The request is rejected because the current account has already invited or is already the GuardDuty master of the given member account ID.";

/// One account ID per status: 100000000000, 100000000001, ...
pub fn status_ids() -> Vec<(String, &'static str)> {
    emulator::MEMBER_STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("{:012}", 100_000_000_000u64 + i as u64), *s))
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn is_iso8601_millis(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}
