//! Shared by the integration tests: the real handler with real SDK clients,
//! pointed at a local emulator on 127.0.0.1.
#![allow(dead_code)]

use std::time::Duration;

use aws_config::retry::RetryConfig;

use emulator::Emulator;
use guardduty_inviter::aws::AwsClients;
use guardduty_inviter::config::Settings;
use guardduty_inviter::error::InvocationError;
use guardduty_inviter::handler::Inviter;
use guardduty_inviter::response::{Answer, Response};
use serde_json::Value;

pub const DETECTOR: &str = emulator::SAMPLE_DETECTOR_ID;
pub use guardduty_inviter::testing::ADMIN;

/// SDK clients for `endpoint`, built as `aws_config` defaults would be, with
/// short retry backoffs so throttling tests finish quickly.
pub async fn clients(endpoint: &str) -> AwsClients {
    let config = emulator::sdk::config_loader(endpoint, "us-east-1")
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .load()
        .await;
    AwsClients::new(&config)
}

/// An emulator holding the sample organization (see `Emulator::sample_organization`).
pub async fn sample() -> Emulator {
    let emu = Emulator::start().await.expect("emulator starts");
    emu.sample_organization();
    emu
}

/// `ORGANIZATIONS_CHECK=off`.
pub fn without_organizations_check() -> Settings {
    Settings {
        organizations_check: guardduty_inviter::config::OrganizationsCheck::Off,
        ..Settings::default()
    }
}

/// Makes `ids` GuardDuty members of [`DETECTOR`] (status `Created`), so that
/// they are invited without `CreateMembers`.
pub fn seed_members(emu: &Emulator, ids: &[String]) {
    for id in ids {
        emu.put_member(DETECTOR, id, &format!("{id}@example.com"), "Created");
    }
}

pub async fn inviter(emu: &Emulator, settings: Settings) -> Inviter<AwsClients> {
    Inviter::new(clients(&emu.endpoint()).await, settings)
}

/// Invokes as the administrator account `ADMIN` with a generous deadline.
pub async fn invoke(
    inviter: &Inviter<AwsClients>,
    event: Value,
) -> Result<Response, InvocationError> {
    inviter
        .invite(
            &event.to_string(),
            Some(ADMIN),
            Some(Duration::from_secs(30)),
        )
        .await
        .map(single)
}

/// The single-Region response of an answer that must be one.
pub fn single(answer: Answer) -> Response {
    answer.single().expect("a single-Region answer")
}

/// Invokes with `remaining` until the deadline, and checks the function
/// answered before it.
pub async fn invoke_within(
    inviter: &Inviter<AwsClients>,
    event: &Value,
    remaining: Duration,
) -> Response {
    let started = std::time::Instant::now();
    let response = inviter
        .invite(&event.to_string(), Some(ADMIN), Some(remaining))
        .await
        .map(single)
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed < remaining,
        "answered in {elapsed:?}, after the deadline"
    );
    response
}

pub fn result_of<'a>(response: &'a Response, account: &str) -> &'a str {
    response
        .unprocessed_accounts
        .iter()
        .find(|u| u.account_id == account)
        .map(|u| u.result.as_str())
        .unwrap_or_else(|| panic!("{account} is not unprocessed: {response:?}"))
}

/// The accounts named by the InviteMembers calls the emulator saw.
pub fn invited_on_the_wire(emu: &Emulator) -> Vec<String> {
    emu.calls()
        .into_iter()
        .filter(|c| c.op == "InviteMembers")
        .flat_map(|c| c.accounts)
        .collect()
}
