//! STS AssumeRole and GetCallerIdentity, and the member side of GuardDuty
//! through the credentials AssumeRole issued (aws_config's
//! AssumeRoleProvider, as the function builds them).

use aws_sdk_guardduty::error::ProvideErrorMetadata;
use emulator::{
    DETECTOR_EXISTS, Emulator, Fault, NO_INVITATION, SAMPLE_MEMBER_ACCOUNT_ID as MEMBER,
    SAMPLE_MEMBER_DETECTOR_ID, STS_DURATION_EXCEEDS,
};

mod common;
use common::{DET, Retry, assumed, config_in, create, get_members, invite, sample};

const ADMIN: &str = "999999999999";
const ROLE_ARN: &str = "arn:aws:iam::191919191919:role/GuardDutyInviterMember";

fn admin_arn() -> String {
    format!(
        "arn:aws:sts::{ADMIN}:assumed-role/{}/{}",
        emulator::ADMIN_ROLE_NAME,
        emulator::ADMIN_SESSION_NAME
    )
}

async fn sts(emu: &Emulator) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&config_in(emu, "us-east-1", Retry::Fast).await)
}

/// A GuardDuty client acting in `role_arn`'s account in `region`.
async fn member_guardduty(
    emu: &Emulator,
    region: &'static str,
    role_arn: &str,
    external_id: Option<&str>,
) -> aws_sdk_guardduty::Client {
    let base = config_in(emu, region, Retry::Fast).await;
    aws_sdk_guardduty::Client::new(&assumed(&base, role_arn, external_id).await)
}

/// CreateDetector (enabled).
async fn create_detector(
    gd: &aws_sdk_guardduty::Client,
) -> Result<
    aws_sdk_guardduty::operation::create_detector::CreateDetectorOutput,
    aws_sdk_guardduty::error::SdkError<
        aws_sdk_guardduty::operation::create_detector::CreateDetectorError,
        aws_sdk_guardduty::config::http::HttpResponse,
    >,
> {
    gd.create_detector().enable(true).send().await
}

/// How many invitations ListInvitations answers (one page).
async fn pending(gd: &aws_sdk_guardduty::Client) -> usize {
    gd.list_invitations()
        .send()
        .await
        .unwrap()
        .invitations()
        .len()
}

/// AssumeRole's error code and message.
async fn assume_err(
    sts: &aws_sdk_sts::Client,
    arn: &str,
    external_id: Option<&str>,
    session: &str,
) -> (Option<u16>, String, String) {
    let req = sts.assume_role().role_arn(arn).role_session_name(session);
    let err = req
        .set_external_id(external_id.map(str::to_string))
        .send()
        .await;
    let err = err.unwrap_err();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().unwrap_or_default().to_string();
    (status, code, err.message().unwrap_or_default().to_string())
}

#[tokio::test]
async fn assume_role_and_caller_identity() {
    let emu = sample().await;
    let client = sts(&emu).await;
    let me = client.get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some(ADMIN));
    assert_eq!(me.arn(), Some(admin_arn().as_str()));
    assert!(
        me.user_id()
            .unwrap()
            .ends_with(":guardduty-inviter-inviter")
    );

    let out = client
        .assume_role()
        .role_arn(ROLE_ARN)
        .role_session_name("inviter")
        .send()
        .await
        .unwrap();
    let creds = out.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert_eq!(creds.access_key_id().len(), 20);
    let user = out.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        "arn:aws:sts::191919191919:assumed-role/GuardDutyInviterMember/inviter"
    );
    assert!(user.assumed_role_id().starts_with("AROA"));

    // The issued credentials act as the member account.
    let member = aws_sdk_sts::Client::new(
        &assumed(
            &config_in(&emu, "us-east-1", Retry::Fast).await,
            ROLE_ARN,
            None,
        )
        .await,
    );
    let me = member.get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some(MEMBER));
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::191919191919:assumed-role/GuardDutyInviterMember/guardduty-inviter")
    );
    let calls = emu.calls();
    let assume = calls.iter().find(|c| c.op == "AssumeRole").unwrap();
    assert_eq!(
        (assume.service.as_str(), assume.accounts.as_slice()),
        ("sts", [MEMBER.to_string()].as_slice())
    );
    assert_eq!(assume.account, ADMIN);
    let last = calls.last().unwrap();
    assert_eq!(
        (last.op.as_str(), last.account.as_str()),
        ("GetCallerIdentity", MEMBER)
    );
    emu.stop().await;
}

#[tokio::test]
async fn assume_role_refusals() {
    let emu = sample().await;
    emu.add_member_role("202020202020", "ops/Inviter", Some("ext-1234"));
    let client = sts(&emu).await;
    let denied = |arn: &str| {
        format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {arn}",
            admin_arn()
        )
    };

    let unknown = "arn:aws:iam::191919191919:role/NoSuchRole";
    let got = assume_err(&client, unknown, None, "s1").await;
    assert_eq!(got, (Some(403), "AccessDenied".into(), denied(unknown)));
    let with_path = "arn:aws:iam::202020202020:role/ops/Inviter";
    for external in [None, Some("wrong-id")] {
        let got = assume_err(&client, with_path, external, "s1").await;
        assert_eq!(got, (Some(403), "AccessDenied".into(), denied(with_path)));
    }
    // The path is part of the role's ARN.
    let no_path = "arn:aws:iam::202020202020:role/Inviter";
    assert_eq!(
        assume_err(&client, no_path, Some("ext-1234"), "s1").await.1,
        "AccessDenied"
    );
    let ok = client
        .assume_role()
        .role_arn(with_path)
        .role_session_name("s1")
        .external_id("ext-1234");
    let out = ok.send().await.unwrap();
    assert!(
        out.assumed_role_user()
            .unwrap()
            .arn()
            .ends_with(":assumed-role/Inviter/s1")
    );

    // Input validation, as AWS words it.
    let got = assume_err(&client, ROLE_ARN, None, "a:b").await;
    assert_eq!(got.1, "ValidationError");
    assert!(got.2.starts_with("1 validation error detected: Value 'a:b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern"), "{}", got.2);
    let duration = |seconds: i32| {
        let req = client
            .assume_role()
            .role_arn(ROLE_ARN)
            .role_session_name("s1");
        req.duration_seconds(seconds).send()
    };
    let err = duration(7200).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Some("ValidationError"), Some(STS_DURATION_EXCEEDS))
    );
    let err = duration(60).await.unwrap_err();
    let message = err.message().unwrap();
    assert!(message.contains("Member must have value greater than or equal to 900"));
    emu.stop().await;
}

#[tokio::test]
async fn assume_role_faults() {
    let emu = sample().await;
    let client = sts(&emu).await;
    emu.inject("AssumeRole", Fault::Throttle, 1);
    let req = client
        .assume_role()
        .role_arn(ROLE_ARN)
        .role_session_name("s1");
    req.clone().send().await.unwrap();
    assert_eq!(emu.count("AssumeRole"), 2, "throttling is retried");
    assert_eq!(emu.calls()[0].status, Some(400));

    emu.inject("AssumeRole", Fault::Throttle, usize::MAX);
    let err = req.clone().send().await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Some("Throttling"), Some("Rate exceeded"))
    );
    emu.clear_faults();
    emu.inject_for_account("AssumeRole", MEMBER, Fault::AccessDenied, 1);
    let err = req.clone().send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(err.code(), Some("AccessDenied"));
    emu.inject("GetCallerIdentity", Fault::ServerError, usize::MAX);
    let err = client.get_caller_identity().send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
    assert_eq!(err.code(), Some("InternalFailure"));
    emu.stop().await;
}

#[tokio::test]
async fn the_member_accepts_the_administrators_invitation() {
    let emu = sample().await;
    let admin = common::guardduty(&emu).await;
    let member = member_guardduty(&emu, "us-east-1", ROLE_ARN, None).await;

    // The member's own detector; a second one is refused.
    let listed = member.list_detectors().send().await.unwrap();
    assert_eq!(listed.detector_ids(), [SAMPLE_MEMBER_DETECTOR_ID]);
    let err = create_detector(&member).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Some("BadRequestException"), Some(DETECTOR_EXISTS))
    );
    assert_eq!(pending(&member).await, 0);

    // The administrator creates and invites it: an invitation appears.
    create(&admin, DET, &[(MEMBER, "191@example.com")])
        .await
        .unwrap();
    invite(&admin, DET, &[MEMBER]).await.unwrap();
    let listed = member.list_invitations().send().await.unwrap();
    let inv = &listed.invitations()[0];
    assert_eq!(
        (inv.account_id(), inv.relationship_status()),
        (Some(ADMIN), Some("Invited"))
    );
    assert!(inv.invited_at().is_some_and(|t| t.ends_with('Z')));
    let invitation_id = inv.invitation_id().unwrap().to_string();

    // Accepting needs the member's detector and the administrator's invitation.
    let accept = |detector: &str, admin_id: &str, invitation: &str| {
        let req = member
            .accept_administrator_invitation()
            .detector_id(detector);
        req.administrator_id(admin_id)
            .invitation_id(invitation)
            .send()
    };
    let err = accept(DET, ADMIN, &invitation_id).await.unwrap_err();
    assert!(err.message().unwrap().contains("detectorId is not owned"));
    let err = accept(SAMPLE_MEMBER_DETECTOR_ID, "888888888888", &invitation_id)
        .await
        .unwrap_err();
    assert_eq!(err.message(), Some(NO_INVITATION));
    accept(SAMPLE_MEMBER_DETECTOR_ID, ADMIN, &invitation_id)
        .await
        .unwrap();

    let m = emu.member(DET, MEMBER).unwrap();
    assert_eq!(m.relationship_status, "Enabled");
    let out = get_members(&admin, DET, &[MEMBER]).await.unwrap();
    assert_eq!(out.members()[0].relationship_status(), Some("Enabled"));
    assert_eq!(pending(&member).await, 0);
    assert_eq!(
        emu.administrator_of(MEMBER, "us-east-1").as_deref(),
        Some(ADMIN)
    );
    let err = accept(SAMPLE_MEMBER_DETECTOR_ID, ADMIN, &invitation_id)
        .await
        .unwrap_err();
    assert_eq!(err.message(), Some(NO_INVITATION));

    // The member's calls act as the member account.
    let calls = emu.calls();
    let mut accepted = calls
        .iter()
        .filter(|c| c.op == "AcceptAdministratorInvitation");
    assert!(
        accepted
            .clone()
            .all(|c| c.account == MEMBER && c.service == "guardduty")
    );
    assert_eq!(accepted.next_back().unwrap().accounts, [ADMIN]);
    assert_eq!(emu.max_in_flight_for("guardduty", "us-east-1", MEMBER), 1);
    emu.stop().await;
}

#[tokio::test]
async fn another_administrators_invitation_and_a_member_without_detector() {
    let emu = sample().await;
    emu.add_member_role("202020202020", "GuardDutyInviterMember", Some("ext-9"));
    emu.add_invitation(
        "202020202020",
        "eu-west-1",
        "888888888888",
        "0123456789abcdef0123456789abcdef",
    );
    let role = "arn:aws:iam::202020202020:role/GuardDutyInviterMember";
    let member = member_guardduty(&emu, "eu-west-1", role, Some("ext-9")).await;

    assert!(common::detector_ids(&member).await.is_empty());
    let created = create_detector(&member).await.unwrap();
    let detector = created.detector_id().unwrap().to_string();
    assert_eq!(detector.len(), 32);
    assert!(detector.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        emu.detectors_of("202020202020", "eu-west-1"),
        [detector.as_str()]
    );
    let err = create_detector(&member).await.unwrap_err();
    assert_eq!(err.message(), Some(DETECTOR_EXISTS));

    let listed = member.list_invitations().send().await.unwrap();
    assert_eq!(listed.invitations().len(), 1);
    assert_eq!(listed.invitations()[0].account_id(), Some("888888888888"));
    let err = member
        .accept_administrator_invitation()
        .detector_id(&detector)
        .administrator_id(ADMIN)
        .invitation_id("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.message(), Some(NO_INVITATION));
    assert_eq!(emu.invitations("202020202020", "eu-west-1").len(), 1);
    assert_eq!(emu.administrator_of("202020202020", "eu-west-1"), None);

    // Faults by op and acting account; a refused Region refuses members too.
    emu.inject_for_account("ListInvitations", "202020202020", Fault::AccessDenied, 1);
    let err = member.list_invitations().send().await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"));
    emu.disable_region("eu-west-1");
    let err = member.list_detectors().send().await.unwrap_err();
    assert_eq!(err.code(), Some("UnrecognizedClientException"));
    emu.stop().await;
}

#[tokio::test]
async fn seeded_invited_members_have_pending_invitations() {
    let emu = sample().await;
    let invited = emu.invitations("141414141414", "us-east-1");
    assert_eq!(invited.len(), 1);
    assert_eq!(invited[0].account_id, ADMIN);
    emu.put_member(DET, "141414141414", "141@example.com", "Enabled");
    assert!(emu.invitations("141414141414", "us-east-1").is_empty());

    // DeleteMembers withdraws the pending invitation.
    emu.put_member(DET, "151515151515", "151@example.com", "Invited");
    assert_eq!(emu.invitations("151515151515", "us-east-1").len(), 1);
    let admin = common::guardduty(&emu).await;
    common::delete(&admin, DET, &["151515151515"])
        .await
        .unwrap();
    assert!(emu.invitations("151515151515", "us-east-1").is_empty());
    emu.stop().await;
}
