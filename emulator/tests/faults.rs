//! Injected faults through the real SDK clients: what each one answers,
//! how the SDK retries it, and whether the operation ran.

use std::time::Duration;

use aws_sdk_guardduty::error::ProvideErrorMetadata;
use aws_sdk_guardduty::error::SdkError;
use emulator::Fault;

mod common;
use common::{DET, clients, create, describe, fast_clients, get_members, invite, sample};

#[tokio::test]
async fn throttle_is_retried_by_standard_retry() {
    let emu = sample().await;
    let (gd, org) = clients(&emu).await;

    emu.inject("GetMembers", Fault::Throttle, 1);
    let out = get_members(&gd, DET, &["111111111111"]).await.unwrap();
    assert_eq!(out.members().len(), 1);
    assert_eq!(emu.count("GetMembers"), 2);
    let calls = emu.calls();
    assert_eq!(calls[0].fault, Some(Fault::Throttle));
    assert_eq!(calls[0].status, Some(429));
    assert_eq!(calls[1].fault, None);

    emu.inject("DescribeAccount", Fault::Throttle, 1);
    describe(&org, "222222222222").await.unwrap();
    assert_eq!(emu.count("DescribeAccount"), 2);
    emu.stop().await;
}

#[tokio::test]
async fn throttle_forever_surfaces_too_many_requests() {
    let emu = sample().await;
    let (gd, org) = fast_clients(&emu).await;

    emu.inject("InviteMembers", Fault::Throttle, usize::MAX);
    let err = invite(&gd, DET, &["111111111111"]).await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(429));
    assert_eq!(err.code(), Some("TooManyRequestsException"));
    assert_eq!(emu.count("InviteMembers"), 3);
    // The operation never ran.
    assert_eq!(
        emu.member(DET, "111111111111").unwrap().relationship_status,
        "Removed"
    );

    emu.inject("ListAccounts", Fault::Throttle, usize::MAX);
    let err = org.list_accounts().send().await.unwrap_err();
    let se = err.into_service_error();
    assert!(se.is_too_many_requests_exception());
    assert_eq!(se.message(), Some(emulator::ORGANIZATIONS_THROTTLE_MESSAGE));
    assert_eq!(emu.count("ListAccounts"), 3);
    emu.stop().await;
}

#[tokio::test]
async fn server_error_and_access_denied() {
    let emu = sample().await;
    let (gd, org) = fast_clients(&emu).await;

    emu.inject("GetMembers", Fault::ServerError, usize::MAX);
    let err = get_members(&gd, DET, &["111111111111"]).await.unwrap_err();
    assert!(
        err.into_service_error()
            .is_internal_server_error_exception()
    );
    assert_eq!(emu.count("GetMembers"), 3, "500s are retried");

    emu.inject("DescribeOrganization", Fault::ServerError, usize::MAX);
    let err = org.describe_organization().send().await.unwrap_err();
    assert!(err.into_service_error().is_service_exception());
    assert_eq!(emu.count("DescribeOrganization"), 3);

    emu.inject("CreateMembers", Fault::AccessDenied, 1);
    let err = create(&gd, DET, &[("222222222222", "a@example.com")])
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(emu.member(DET, "222222222222").is_none());

    emu.inject("DescribeAccount", Fault::AccessDenied, 1);
    let err = describe(&org, "222222222222").await.unwrap_err();
    assert!(err.into_service_error().is_access_denied_exception());
    emu.stop().await;
}

#[tokio::test]
async fn invalid_json_and_reset_surface_as_errors() {
    let emu = sample().await;
    let (gd, org) = fast_clients(&emu).await;

    emu.inject("GetMembers", Fault::InvalidJson, usize::MAX);
    let err = get_members(&gd, DET, &["111111111111"]).await.unwrap_err();
    assert!(
        matches!(err, SdkError::ServiceError(_) | SdkError::ResponseError(_)),
        "{err:?}"
    );

    emu.inject("ListAccounts", Fault::InvalidJson, usize::MAX);
    assert!(org.list_accounts().send().await.is_err());

    emu.inject("InviteMembers", Fault::ResetMidResponse, usize::MAX);
    let err = invite(&gd, DET, &["111111111111"]).await.unwrap_err();
    assert!(
        matches!(
            err,
            SdkError::ResponseError(_) | SdkError::DispatchFailure(_)
        ),
        "{err:?}"
    );
    // The operation ran even though its response was lost.
    assert_eq!(
        emu.member(DET, "111111111111").unwrap().relationship_status,
        "Invited"
    );

    emu.inject("DescribeAccount", Fault::ResetMidResponse, usize::MAX);
    assert!(describe(&org, "222222222222").await.is_err());

    // Once cleared, everything works again on the same clients.
    emu.clear_faults();
    get_members(&gd, DET, &["111111111111"]).await.unwrap();
    org.list_accounts().send().await.unwrap();
    describe(&org, "222222222222").await.unwrap();
    emu.stop().await;
}

#[tokio::test]
async fn reset_once_is_retried() {
    let emu = sample().await;
    let (gd, _) = fast_clients(&emu).await;
    emu.inject("GetMembers", Fault::ResetMidResponse, 1);
    let out = get_members(&gd, DET, &["111111111111"]).await.unwrap();
    assert_eq!(out.members().len(), 1);
    assert_eq!(emu.count("GetMembers"), 2);
    emu.stop().await;
}

#[tokio::test]
async fn hang_never_answers() {
    let emu = sample().await;
    let (gd, org) = fast_clients(&emu).await;

    emu.inject("ListDetectors", Fault::Hang, 1);
    let r = tokio::time::timeout(Duration::from_millis(300), gd.list_detectors().send()).await;
    assert!(r.is_err(), "expected a timeout, got {r:?}");
    assert_eq!(emu.calls()[0].fault, Some(Fault::Hang));
    assert_eq!(emu.calls()[0].status, None);

    emu.inject("DescribeOrganization", Fault::Hang, 1);
    let pending = tokio::spawn({
        let org = org.clone();
        async move { org.describe_organization().send().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(emu.in_flight("organizations"), 1);
    assert!(!pending.is_finished());

    // Other requests are still served meanwhile.
    gd.list_detectors().send().await.unwrap();
    emu.stop().await;
    pending.abort();
}

#[tokio::test]
async fn faults_for_one_account_only() {
    let emu = sample().await;
    emu.put_member(DET, "222222222222", "222@example.com", "Created");
    emu.put_member(DET, "555555555555", "555@example.com", "Created");
    let (gd, org) = fast_clients(&emu).await;

    emu.inject_for_account(
        "InviteMembers",
        "555555555555",
        Fault::ServerError,
        usize::MAX,
    );
    invite(&gd, DET, &["222222222222"]).await.unwrap();
    let err = invite(&gd, DET, &["555555555555"]).await.unwrap_err();
    assert!(
        err.into_service_error()
            .is_internal_server_error_exception()
    );

    emu.inject_for_account("DescribeAccount", "444444444444", Fault::AccessDenied, 1);
    describe(&org, "222222222222").await.unwrap();
    assert!(describe(&org, "444444444444").await.is_err());
    describe(&org, "444444444444").await.unwrap();

    // Queued faults apply in order.
    emu.inject("ListDetectors", Fault::Throttle, 1);
    emu.inject("ListDetectors", Fault::ServerError, 1);
    gd.list_detectors().send().await.unwrap();
    let faults: Vec<Option<Fault>> = emu
        .calls()
        .iter()
        .filter(|c| c.op == "ListDetectors")
        .map(|c| c.fault)
        .collect();
    assert_eq!(
        faults,
        [Some(Fault::Throttle), Some(Fault::ServerError), None]
    );
    emu.stop().await;
}
