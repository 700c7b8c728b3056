//! GuardDuty members seeded with any status, through the control plane and
//! the real SDK client.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use emulator::{Emulator, MEMBER_STATUSES};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn guardduty(emu: &Emulator) -> aws_sdk_guardduty::Client {
    let cfg = aws_config::defaults(BehaviorVersion::latest())
        .region("us-east-1")
        .credentials_provider(aws_sdk_guardduty::config::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(emu.endpoint())
        .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(5)))
        .load()
        .await;
    aws_sdk_guardduty::Client::new(&cfg)
}

/// One account ID per status: 100000000000, 100000000001, ...
fn status_ids() -> Vec<(String, &'static str)> {
    MEMBER_STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("{:012}", 100_000_000_000u64 + i as u64), *s))
        .collect()
}

/// Sends one HTTP/1.1 request (Connection: close); returns status and body.
async fn http(emu: &Emulator, method: &str, path: &str, body: &str) -> (u16, String) {
    let addr = emu.local_addr().to_string();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (
        head.split(' ').nth(1).unwrap().parse().unwrap(),
        body.to_string(),
    )
}

#[tokio::test]
async fn control_plane_puts_a_member_with_any_status() {
    let emu = Emulator::start().await.unwrap();
    let gd = guardduty(&emu).await;

    for (id, status) in status_ids() {
        let body = json!({"detectorId": "det7", "accountId": id, "email": "m@example.com", "status": status});
        let (code, resp) = http(&emu, "POST", "/_emulator/member", &body.to_string()).await;
        assert_eq!(code, 200, "{resp}");
        let v: Value = serde_json::from_str(&resp).unwrap();
        assert_eq!(v["accountId"], id.as_str());
        assert_eq!(v["relationshipStatus"], status);
        assert_eq!(v["email"], "m@example.com");
        assert_eq!(v["detectorId"], "det7");
    }
    let ids: Vec<String> = status_ids().into_iter().map(|(id, _)| id).collect();
    let out = gd
        .get_members()
        .detector_id("det7")
        .set_account_ids(Some(ids))
        .send()
        .await
        .unwrap();
    assert_eq!(out.members().len(), MEMBER_STATUSES.len());
    for (id, status) in status_ids() {
        let m = emu.member("det7", &id).unwrap();
        assert_eq!(m.relationship_status, status);
        assert_eq!(
            m.invited_at.is_some(),
            matches!(
                status,
                "Invited" | "Enabled" | "Disabled" | "Removed" | "Resigned"
            ),
            "{status}"
        );
    }
    // The detector it created is listed.
    let listed = gd.list_detectors().send().await.unwrap();
    assert_eq!(listed.detector_ids(), ["det7"]);

    // Overwrites; e-mail defaults to aws+<id>@example.com.
    let body = json!({"detectorId": "det7", "accountId": "100000000001", "status": "Created"});
    let (code, resp) = http(&emu, "POST", "/_emulator/member", &body.to_string()).await;
    assert_eq!(code, 200, "{resp}");
    let m = emu.member("det7", "100000000001").unwrap();
    assert_eq!(m.relationship_status, "Created");
    assert_eq!(m.email, "aws+100000000001@example.com");
    assert_eq!(m.invited_at, None);
    let (code, resp) = http(&emu, "GET", "/_emulator/member/det7/100000000001", "").await;
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&resp).unwrap()["relationshipStatus"],
        "Created"
    );

    // Missing or mistyped fields.
    for bad in [
        json!({"accountId": "100000000001", "status": "Created"}),
        json!({"detectorId": "det7", "status": "Created"}),
        json!({"detectorId": "det7", "accountId": "100000000001"}),
        json!({"detectorId": "det7", "accountId": "100000000001", "status": 3}),
        json!({"detectorId": "det7", "accountId": "100000000001", "status": "Created", "email": 1}),
    ] {
        let (code, resp) = http(&emu, "POST", "/_emulator/member", &bad.to_string()).await;
        assert_eq!(code, 400, "{bad} -> {resp}");
    }
    let (code, _) = http(&emu, "POST", "/_emulator/member", "not json").await;
    assert_eq!(code, 400);
    // Control-plane requests are not recorded.
    assert_eq!(emu.count("Unknown"), 0);
    assert!(emu.calls().iter().all(|c| c.service == "guardduty"));
    emu.stop().await;
}
