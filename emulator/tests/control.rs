//! The control-plane routes for Regions, member accounts, roles and
//! invitations, and the raw wire of STS and of the credential scope.

use emulator::Emulator;
use serde_json::{Value, json};

mod common;
use common::{control, request};

fn auth(key: &str, region: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={key}/20240101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=00"
    )
}

async fn ok(emu: &Emulator, path: &str, body: Value) -> Value {
    let (status, out) = control(emu, "POST", path, &body).await;
    assert_eq!(status, 200, "{path} {body} -> {out}");
    out
}

/// The status of a control-plane POST.
async fn post(emu: &Emulator, path: &str, body: Value) -> u16 {
    control(emu, "POST", path, &body).await.0
}

async fn get(emu: &Emulator, path: &str) -> Value {
    let (status, out) = control(emu, "GET", path, &Value::Null).await;
    assert_eq!(status, 200, "{path} -> {out}");
    out
}

#[tokio::test]
async fn regions_routes() {
    let emu = Emulator::start().await.unwrap();
    let regions = json!([
        {"regionName": "us-east-1", "regionOptStatus": "ENABLED_BY_DEFAULT"},
        {"regionName": "ap-east-1", "regionOptStatus": "ENABLED"},
    ]);
    ok(&emu, "regions", json!({"regions": regions, "pageSize": 1})).await;
    let got = get(&emu, "regions").await;
    assert_eq!(got["regions"], regions);
    assert_eq!(got["pageSize"], 1);
    assert_eq!(emu.regions().len(), 2);
    ok(&emu, "disable-region", json!({"region": "ap-east-1"})).await;
    assert_eq!(
        get(&emu, "regions").await["disabledRegions"],
        json!(["ap-east-1"])
    );
    ok(&emu, "enable-region", json!({"region": "ap-east-1"})).await;
    assert_eq!(get(&emu, "regions").await["disabledRegions"], json!([]));

    for bad in [
        json!({}),
        json!({"pageSize": 0}),
        json!({"pageSize": 51}),
        json!({"regions": [{"regionName": "x-1"}]}),
        json!({"regions": [{"regionName": "x-1", "regionOptStatus": "ON"}]}),
    ] {
        assert_eq!(post(&emu, "regions", bad.clone()).await, 400, "{bad}");
    }
    assert_eq!(post(&emu, "disable-region", json!({})).await, 400);
    emu.stop().await;
}

#[tokio::test]
async fn detectors_members_and_invitations_in_a_region() {
    let emu = Emulator::start().await.unwrap();
    ok(
        &emu,
        "detector",
        json!({"detectorId": "d-eu", "region": "eu-west-1"}),
    )
    .await;
    let seeded = json!({"detectorId": "d-eu", "accountIds": ["123456789012"], "status": "Invited", "region": "eu-west-1"});
    ok(&emu, "members", seeded).await;
    let one = json!({"detectorId": "d-eu", "accountId": "123456789013", "status": "Enabled", "region": "eu-west-1"});
    assert_eq!(
        ok(&emu, "member", one).await["relationshipStatus"],
        "Enabled"
    );
    let m = get(&emu, "member/d-eu/123456789012?region=eu-west-1").await;
    assert_eq!(m["relationshipStatus"], "Invited");
    assert_eq!(
        control(&emu, "GET", "member/d-eu/123456789012", &Value::Null)
            .await
            .0,
        404
    );
    assert_eq!(
        get(&emu, "detectors/999999999999/eu-west-1").await["detectorIds"],
        json!(["d-eu"])
    );

    // The Invited member has the administrator's invitation; add another.
    let list = get(&emu, "invitations/123456789012/eu-west-1").await;
    assert_eq!(list[0]["accountId"], "999999999999");
    let other = json!({"accountId": "123456789012", "region": "eu-west-1", "fromAccountId": "888888888888", "invitationId": "abc"});
    let inv = ok(&emu, "invitation", other).await;
    assert_eq!(
        (
            inv["invitationId"].as_str(),
            inv["relationshipStatus"].as_str()
        ),
        (Some("abc"), Some("Invited"))
    );
    let fresh = json!({"accountId": "123456789012", "region": "eu-west-1", "fromAccountId": "777777777777"});
    assert_eq!(
        ok(&emu, "invitation", fresh).await["invitationId"]
            .as_str()
            .unwrap()
            .len(),
        32
    );
    let list = get(&emu, "invitations/123456789012/eu-west-1").await;
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(
        get(&emu, "administrator/123456789012/eu-west-1").await["administratorId"],
        Value::Null
    );

    ok(
        &emu,
        "member-detector",
        json!({"accountId": "123456789012", "region": "eu-west-1", "detectorId": "m1"}),
    )
    .await;
    assert_eq!(emu.detectors_of("123456789012", "eu-west-1"), ["m1"]);
    assert_eq!(
        post(&emu, "member-detector", json!({"accountId": "1"})).await,
        400
    );
    assert_eq!(
        post(&emu, "invitation", json!({"accountId": "1", "region": "r"})).await,
        400
    );
    assert_eq!(
        post(
            &emu,
            "member",
            json!({"detectorId": "d", "accountId": "1", "status": "Enabled", "region": 3})
        )
        .await,
        400
    );
    emu.stop().await;
}

#[tokio::test]
async fn raw_sts_and_the_acting_account() {
    let emu = Emulator::start().await.unwrap();
    let h = emu.local_addr().to_string();
    ok(
        &emu,
        "member-role",
        json!({"accountId": "191919191919", "role": "Member", "externalId": "x-1"}),
    )
    .await;
    ok(
        &emu,
        "member-detector",
        json!({"accountId": "191919191919", "region": "us-west-2", "detectorId": "m-d"}),
    )
    .await;
    let admin = auth("AKIDEXAMPLE", "us-east-1", "sts");
    let form = ("content-type", "application/x-www-form-urlencoded");
    let body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A191919191919%3Arole%2FMember&RoleSessionName=s1&ExternalId=x-1";
    let (status, head, xml) =
        request(&h, "POST", "/", &[("authorization", &admin), form], body).await;
    assert_eq!(status, 200, "{xml}");
    assert!(head.contains("text/xml"));
    assert!(
        xml.starts_with("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"),
        "{xml}"
    );
    let key = xml
        .split("<AccessKeyId>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert!(key.starts_with("ASIA"));

    // That key acts as the member account, in the Region of its scope.
    let member = auth(key, "us-west-2", "guardduty");
    let (status, _, out) = request(&h, "GET", "/detector", &[("authorization", &member)], "").await;
    assert_eq!((status, out.as_str()), (200, r#"{"detectorIds":["m-d"]}"#));
    let calls = get(&emu, "calls").await;
    let last = &calls.as_array().unwrap()[1];
    assert_eq!(
        (last["region"].as_str(), last["account"].as_str()),
        (Some("us-west-2"), Some("191919191919"))
    );
    let stats = get(&emu, "stats").await;
    assert_eq!(stats["maxInFlight"]["guardduty:us-west-2:191919191919"], 1);
    assert_eq!(stats["maxInFlight"]["sts:us-east-1:999999999999"], 1);

    // Unsigned, and an unknown action.
    let gci = "Action=GetCallerIdentity&Version=2011-06-15";
    let (status, _, xml) = request(&h, "POST", "/", &[form], gci).await;
    assert_eq!(status, 403);
    assert!(
        xml.contains("<Code>MissingAuthenticationToken</Code>"),
        "{xml}"
    );
    let (status, _, xml) = request(
        &h,
        "POST",
        "/",
        &[("authorization", &admin), form],
        "Action=Nope",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        xml.contains("<Code>InvalidAction</Code>") && xml.contains("<Type>Sender</Type>"),
        "{xml}"
    );
    let (status, _, xml) = request(
        &h,
        "POST",
        "/",
        &[("authorization", &member.replace("guardduty", "sts")), form],
        gci,
    )
    .await;
    assert_eq!(status, 200);
    assert!(xml.contains("<Account>191919191919</Account>"), "{xml}");
    emu.stop().await;
}
