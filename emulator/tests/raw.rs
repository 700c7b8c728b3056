//! Plain-HTTP tests: authorization, control plane, the binary.

use std::process::Stdio;
use std::time::Duration;

use emulator::{Emulator, Fault};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

mod common;
use common::request;

/// A control-plane POST to `host`; returns the status.
async fn post(host: &str, path: &str, body: &str) -> u16 {
    request(host, "POST", &format!("/_emulator/{path}"), &[], body)
        .await
        .0
}

fn host(emu: &Emulator) -> String {
    emu.local_addr().to_string()
}

const AUTH: (&str, &str) = (
    "authorization",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/guardduty/aws4_request, SignedHeaders=host, Signature=00",
);

#[tokio::test]
async fn unsigned_requests_are_rejected() {
    let emu = Emulator::start().await.unwrap();
    emu.sample_organization();
    let h = host(&emu);
    let (status, head, body) = request(&h, "GET", "/detector", &[], "").await;
    assert_eq!(status, 403);
    assert!(
        head.to_ascii_lowercase()
            .contains("x-amzn-errortype: unrecognizedclientexception")
    );
    assert!(body.contains("UnrecognizedClientException"));

    let (status, _, body) = request(
        &h,
        "POST",
        "/",
        &[(
            "x-amz-target",
            "AWSOrganizationsV20161128.DescribeOrganization",
        )],
        "{}",
    )
    .await;
    assert_eq!(status, 403);
    assert!(body.contains("UnrecognizedClientException"));

    // Signed (signature not verified) works.
    let (status, head, body) = request(&h, "GET", "/detector", &[AUTH], "").await;
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("application/json"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["detectorIds"][0], emulator::SAMPLE_DETECTOR_ID);

    let (status, head, body) = request(
        &h,
        "POST",
        "/",
        &[
            AUTH,
            ("x-amz-target", "AWSOrganizationsV20161128.ListAccounts"),
            ("content-type", "application/x-amz-json-1.1"),
        ],
        r#"{"MaxResults": 2}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("application/x-amz-json-1.1"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["Accounts"].as_array().unwrap().len(), 2);
    assert!(v["NextToken"].is_string());
    assert!(v["Accounts"][0]["JoinedTimestamp"].is_number());

    let calls = emu.calls();
    assert_eq!(calls.len(), 4);
    assert!(!calls[0].authorized && !calls[1].authorized);
    assert!(calls[2].authorized && calls[3].authorized);
    assert_eq!(calls[1].service, "organizations");
    assert_eq!(calls[1].op, "DescribeOrganization");
    emu.stop().await;
}

#[tokio::test]
async fn control_plane() {
    let emu = Emulator::start().await.unwrap();
    emu.sample_organization();
    let h = host(&emu);
    let det = emulator::SAMPLE_DETECTOR_ID;

    // Member read-back.
    let (status, v) = common::control(
        &emu,
        "GET",
        &format!("member/{det}/111111111111"),
        &Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["relationshipStatus"], "Removed");
    assert_eq!(v["email"], "111@example.com");
    let (status, _) = common::control(
        &emu,
        "GET",
        &format!("member/{det}/222222222222"),
        &Value::Null,
    )
    .await;
    assert_eq!(status, 404);

    // Fault via control plane, then observed by a signed request.
    let status = post(
        &h,
        "fault",
        &json!({"op": "ListDetectors", "fault": "Throttle", "times": 1}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, head, _) = request(&h, "GET", "/detector", &[AUTH], "").await;
    assert_eq!(status, 429);
    assert!(head.contains("TooManyRequestsException"));
    let (status, _, _) = request(&h, "GET", "/detector", &[AUTH], "").await;
    assert_eq!(status, 200);

    // Per-account fault.
    let fault = json!({"op": "DescribeAccount", "fault": "AccessDenied", "times": 5,
        "accountId": "444444444444"});
    assert_eq!(post(&h, "fault", &fault.to_string()).await, 200);
    let describe = |id: &str| {
        let body = format!(r#"{{"AccountId":"{id}"}}"#);
        let h = h.clone();
        async move {
            let target = ("x-amz-target", "AWSOrganizationsV20161128.DescribeAccount");
            request(&h, "POST", "/", &[AUTH, target], &body).await
        }
    };
    let (status, _, body) = describe("444444444444").await;
    assert_eq!(status, 400);
    assert!(body.contains("AccessDeniedException"));
    assert_eq!(describe("222222222222").await.0, 200);

    // Bad fault name.
    let status = post(&h, "fault", r#"{"op": "ListDetectors", "fault": "Nope"}"#).await;
    assert_eq!(status, 400);

    // Latency: default and per op.
    let status = post(&h, "latency", r#"{"op": null, "ms": 120}"#).await;
    assert_eq!(status, 200);
    let t = std::time::Instant::now();
    request(&h, "GET", "/detector", &[AUTH], "").await;
    assert!(t.elapsed() >= Duration::from_millis(120));
    post(&h, "latency", r#"{"op": "ListDetectors", "ms": 0}"#).await;

    // Calls and stats (control-plane requests are not recorded).
    let (status, _, body) = request(&h, "GET", "/_emulator/calls", &[], "").await;
    assert_eq!(status, 200);
    let calls: Value = serde_json::from_str(&body).unwrap();
    let calls = calls.as_array().unwrap();
    assert_eq!(calls.len(), 5);
    assert_eq!(calls[0]["op"], "ListDetectors");
    assert_eq!(calls[0]["service"], "guardduty");
    assert_eq!(calls[0]["fault"], "Throttle");
    assert_eq!(calls[1]["fault"], Value::Null);
    assert_eq!(calls[2]["accounts"], json!(["444444444444"]));
    assert_eq!(calls[2]["fault"], "AccessDenied");
    assert!(calls[4]["endMs"].as_f64().unwrap() - calls[4]["startMs"].as_f64().unwrap() >= 120.0);

    let (_, _, body) = request(&h, "GET", "/_emulator/stats", &[], "").await;
    let stats: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["counts"]["ListDetectors"], 3);
    assert_eq!(stats["counts"]["DescribeAccount"], 2);
    assert_eq!(stats["maxInFlight"]["guardduty"], 1);

    let status = post(&h, "reset-calls", "").await;
    assert_eq!(status, 200);
    assert!(emu.calls().is_empty());
    let (_, _, body) = request(&h, "GET", "/_emulator/calls", &[], "").await;
    assert_eq!(body, "[]");

    let (status, _, _) = request(&h, "GET", "/_emulator/nope", &[], "").await;
    assert_eq!(status, 404);
    emu.stop().await;
}

#[tokio::test]
async fn library_fault_queue_and_reset_mid_response_raw() {
    let emu = Emulator::start().await.unwrap();
    emu.add_detector("d");
    let h = host(&emu);
    emu.inject("ListDetectors", Fault::ResetMidResponse, 1);
    let mut s = TcpStream::connect(&h).await.unwrap();
    s.write_all(
        format!(
            "GET /detector HTTP/1.1\r\nhost: {h}\r\nauthorization: {}\r\n\r\n",
            AUTH.1
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    // The server closes the connection after a partial body.
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .unwrap()
        .ok();
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"));
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap();
    assert!(
        body.len() < len,
        "body {} vs content-length {len}",
        body.len()
    );
    emu.stop().await;
}

#[tokio::test]
async fn binary_serves_and_prints_endpoint() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_emulator"))
        .args([
            "--port",
            "0",
            "--sample-org",
            "--large-org",
            "30",
            "--latency-ms",
            "1",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(20),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .unwrap()
    .unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let h = endpoint
        .strip_prefix("http://127.0.0.1:")
        .map(|p| format!("127.0.0.1:{p}"))
        .unwrap();

    let (status, _, body) = request(
        &h,
        "POST",
        "/",
        &[
            AUTH,
            ("x-amz-target", "AWSOrganizationsV20161128.ListAccounts"),
        ],
        "{}",
    )
    .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["Accounts"].as_array().unwrap().len(), 20);
    assert_eq!(v["Accounts"][0]["Id"], "222222222222");

    let (status, _, body) = request(
        &h,
        "GET",
        &format!(
            "/_emulator/member/{}/111111111111",
            emulator::SAMPLE_DETECTOR_ID
        ),
        &[],
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (_, _, body) = request(&h, "GET", "/_emulator/stats", &[], "").await;
    let stats: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["counts"]["ListAccounts"], 1);

    #[cfg(unix)]
    {
        let pid = child.id().unwrap();
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "{status:?}");
    }
}

#[tokio::test]
async fn control_plane_seeding_routes() {
    let emu = Emulator::start().await.unwrap();
    let ids = emu.large_organization(45, 7);
    let h = host(&emu);

    let (status, _, body) = request(&h, "GET", "/_emulator/org-accounts", &[], "").await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["organizationId"], emulator::SAMPLE_ORG_ID);
    let listed: Vec<String> = serde_json::from_value(v["accountIds"].clone()).unwrap();
    assert_eq!(listed, ids);

    let seed = json!({"detectorId": "det9", "accountIds": ["123456789012", "123456789013"]});
    let (status, _, body) = request(&h, "POST", "/_emulator/members", &[], &seed.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["members"], 2);
    let m = emu.member("det9", "123456789013").unwrap();
    assert_eq!(m.relationship_status, "Removed");
    assert_eq!(m.email, "aws+123456789013@example.com");
    let seed = json!({"detectorId": "det9", "accountIds": ["123456789012"], "status": "Enabled"});
    request(&h, "POST", "/_emulator/members", &[], &seed.to_string()).await;
    assert_eq!(
        emu.member("det9", "123456789012")
            .unwrap()
            .relationship_status,
        "Enabled"
    );
    let status = post(&h, "members", r#"{"detectorId":"d"}"#).await;
    assert_eq!(status, 400);
    let bad = r#"{"detectorId":"d","accountIds":[1]}"#;
    let (status, _, _) = request(&h, "POST", "/_emulator/members", &[], bad).await;
    assert_eq!(status, 400);

    // Detector created by the seeding route is listed.
    let (_, _, body) = request(&h, "GET", "/detector", &[AUTH], "").await;
    assert!(body.contains("det9"), "{body}");

    // Empty pages: the first page is empty and carries a NextToken.
    let (status, _, _) = request(&h, "POST", "/_emulator/empty-pages", &[], r#"{"every":1}"#).await;
    assert_eq!(status, 200);
    let target = ("x-amz-target", "AWSOrganizationsV20161128.ListAccounts");
    let (_, _, body) = request(&h, "POST", "/", &[AUTH, target], "{}").await;
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["Accounts"].as_array().unwrap().len(), 0, "{body}");
    assert!(page["NextToken"].is_string(), "{body}");
    let (status, _, _) = request(&h, "POST", "/_emulator/empty-pages", &[], "{}").await;
    assert_eq!(status, 400);
    emu.stop().await;
}
