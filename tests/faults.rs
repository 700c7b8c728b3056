//! Faults on the wire, against the emulator through the real SDK clients:
//! throttling storms, 5xx, connection refused, resets mid-response, bodies
//! that are not JSON, calls that never answer, concurrent invocations, and
//! hostile input. Whatever happens, every account is reported exactly once,
//! and no organization member or unknown account is invited.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use emulator::{Emulator, Fault};
use guardduty_inviter::config::Settings;
use guardduty_inviter::handler::Inviter;
use guardduty_inviter::response::{FailCode, Response, SkipCode};
use guardduty_inviter::testing::{account_ids, assert_exactly_once};
use proptest::prelude::*;
use serde_json::json;
use support::*;

/// An organization of `org` accounts plus `outside` GuardDuty members.
async fn world(org: usize, outside: usize) -> (Emulator, Vec<String>, Vec<String>) {
    let emu = sample().await;
    let members = account_ids(500_000_000_000, org);
    for id in &members {
        emu.add_org_account(id, "ACTIVE");
    }
    let outsiders = account_ids(700_000_000_000, outside);
    seed_members(&emu, &outsiders);
    (emu, members, outsiders)
}

#[tokio::test]
async fn throttling_storm_loses_no_account() {
    let (emu, members, outsiders) = world(60, 240).await;
    // Most calls of both services throttled for a while: more throttles than
    // the SDK's three attempts can always absorb.
    emu.inject("DescribeAccount", Fault::Throttle, 40);
    emu.inject("ListAccounts", Fault::Throttle, 4);
    emu.inject("InviteMembers", Fault::Throttle, 7);
    emu.inject("ListDetectors", Fault::Throttle, 2);
    let inviter = inviter(&emu, Settings::default()).await;
    let mut named = members.clone();
    named.extend(outsiders.iter().cloned());
    let response = invoke(&inviter, json!(named)).await.unwrap();
    assert_exactly_once(&named, &response);
    let org: HashSet<&String> = members.iter().collect();
    assert!(response.invited_accounts.iter().all(|id| !org.contains(id)));
    for id in &response.invited_accounts {
        assert_eq!(
            emu.member(DETECTOR, id).unwrap().relationship_status,
            "Invited"
        );
    }
    for u in &response.unprocessed_accounts {
        assert!(
            u.result.contains("TooManyRequestsException"),
            "{}",
            u.result
        );
    }
    assert!(
        !response.invited_accounts.is_empty(),
        "the retries do the work"
    );
}

/// One InviteMembers batch meets `fault` on every attempt; the other is fine.
async fn one_batch_fails(fault: Fault) -> Response {
    let (emu, _, outsiders) = world(0, 100).await;
    emu.inject_for_account("InviteMembers", &outsiders[10], fault, usize::MAX);
    let inviter = inviter(&emu, Settings::default()).await;
    let response = invoke(&inviter, json!(outsiders)).await.unwrap();
    assert_exactly_once(&outsiders, &response);
    assert_eq!(
        response.invited_accounts,
        outsiders[50..],
        "the other batch is unaffected"
    );
    assert_eq!(response.unprocessed_accounts.len(), 50);
    response
}

#[tokio::test]
async fn server_errors_fail_only_their_batch() {
    let response = one_batch_fails(Fault::ServerError).await;
    let result = &response.unprocessed_accounts[0].result;
    assert!(
        result.starts_with("InviteMembers failed: InternalServerErrorException"),
        "{result}"
    );
}

#[tokio::test]
async fn resets_mid_response_fail_only_their_batch() {
    let response = one_batch_fails(Fault::ResetMidResponse).await;
    let result = &response.unprocessed_accounts[0].result;
    assert!(result.starts_with("InviteMembers failed:"), "{result}");
}

#[tokio::test]
async fn bodies_that_are_not_json_fail_only_their_batch() {
    let response = one_batch_fails(Fault::InvalidJson).await;
    let result = &response.unprocessed_accounts[0].result;
    assert!(result.starts_with("InviteMembers failed:"), "{result}");
}

#[tokio::test]
async fn connection_refused_is_reported_per_account() {
    let emu = sample().await;
    // A port nothing listens on: bind one, then free it.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let organizations = clients(&emu.endpoint()).await.organizations;
    let aws = clients(&closed).await.with_organizations(organizations);
    let inviter = Inviter::new(aws, Settings::default());
    let response = invoke(
        &inviter,
        json!({"accountIds": ["111111111111", "222222222222"], "detectorId": DETECTOR}),
    )
    .await
    .unwrap();
    assert_eq!(response.skipped_accounts.len(), 1);
    let result = result_of(&response, "111111111111");
    assert!(
        result.starts_with("GetMembers failed: could not reach AWS"),
        "{result}"
    );
    let entry = &response.unprocessed_accounts[0];
    assert_eq!((entry.code, entry.retryable), (FailCode::CallFailed, true));
    assert!(
        !result.contains("Debug") && !result.contains("ConnectorError"),
        "no internal dump: {result}"
    );

    // Organizations unreachable: nobody is invited blindly.
    let organizations = clients(&closed).await.organizations;
    let aws = clients(&emu.endpoint())
        .await
        .with_organizations(organizations);
    let inviter = Inviter::new(aws, Settings::default());
    let response = invoke(&inviter, json!(["111111111111", "777777777777"]))
        .await
        .unwrap();
    assert!(response.invited_accounts.is_empty());
    for u in &response.unprocessed_accounts {
        assert!(u.result.contains("could not be determined"), "{}", u.result);
        assert!(u.result.contains("could not reach AWS"), "{}", u.result);
    }
    assert_eq!(
        emu.count("InviteMembers"),
        0,
        "no account of unknown membership was invited"
    );
}

#[tokio::test]
async fn a_call_that_never_answers_is_cut_at_the_deadline() {
    let (emu, _, outsiders) = world(0, 100).await;
    emu.inject_for_account("InviteMembers", &outsiders[0], Fault::Hang, usize::MAX);
    let inviter = inviter(&emu, Settings::default()).await;
    let remaining = Duration::from_millis(2000);
    let response = invoke_within(&inviter, &json!(outsiders), remaining).await;
    assert_exactly_once(&outsiders, &response);
    assert_eq!(response.invited_accounts, outsiders[50..]);
    for u in &response.unprocessed_accounts {
        assert!(u.result.starts_with("outcome unknown"), "{}", u.result);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_on_overlapping_accounts() {
    let emu = sample().await;
    emu.set_latency("CreateMembers", Duration::from_millis(30));
    let all = account_ids(700_000_000_000, 150);
    // Four "processes" (own clients, own connection pools, own caches), each
    // creating and inviting an overlapping slice of new accounts at once.
    let mut tasks = Vec::new();
    for k in 0..4usize {
        let slice: Vec<String> = all[k * 25..k * 25 + 75].to_vec();
        let endpoint = emu.endpoint();
        tasks.push(tokio::spawn(async move {
            let inviter = Inviter::new(clients(&endpoint).await, Settings::default());
            let accounts: Vec<_> = slice
                .iter()
                .map(|id| json!({"accountId": id, "email": format!("{id}@example.com")}))
                .collect();
            let response = inviter
                .invite(
                    &json!({"accounts": accounts}).to_string(),
                    Some(ADMIN),
                    Some(Duration::from_secs(30)),
                )
                .await
                .map(single)
                .unwrap();
            (slice, response)
        }));
    }
    // Two processes can both read "not a member" and both create and invite:
    // "already a member" from CreateMembers is no failure, and the loser of
    // the invitation race is told GuardDuty's own refusal, nothing worse.
    let mut invited = std::collections::HashSet::new();
    for task in tasks {
        let (slice, response) = task.await.unwrap();
        assert_exactly_once(&slice, &response);
        for entry in &response.unprocessed_accounts {
            assert_eq!(entry.code, FailCode::Rejected, "{entry:?}");
            assert_eq!(entry.result, emulator::RESULT_ALREADY_INVITED);
        }
        for entry in &response.skipped_accounts {
            assert_eq!(entry.code, SkipCode::InvitationPending, "{entry:?}");
        }
        invited.extend(response.invited_accounts);
    }
    assert_eq!(invited.len(), 150, "every account invited by one of them");
    for id in &all[..150] {
        assert_eq!(
            emu.member(DETECTOR, id).unwrap().relationship_status,
            "Invited"
        );
    }
}

#[tokio::test]
async fn huge_events_are_refused_quickly() {
    // A hang guard, not a timing assertion: how fast is the benchmark's job.
    tokio::time::timeout(Duration::from_secs(120), huge_events())
        .await
        .expect("huge events are answered, not hung on");
}

async fn huge_events() {
    let emu = sample().await;
    let inviter = inviter(&emu, Settings::default()).await;
    let many = account_ids(100_000_000_000, 100_000);
    let error = invoke(&inviter, json!(many)).await.unwrap_err();
    assert_eq!(error.error_type(), "InvalidEvent");
    // A 6 MB event (Lambda's synchronous payload limit) of junk strings.
    let junk = json!({"accountIds": vec!["x".repeat(60); 100_000]});
    let response = invoke(&inviter, junk).await.unwrap();
    assert_eq!(response.unprocessed_accounts.len(), 1, "one distinct ID");
    let nested = format!(
        "{{\"accountIds\": {}{}}}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let error = inviter
        .invite(&nested, Some(ADMIN), None)
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "InvalidEvent");
    assert!(emu.calls().is_empty());
}

#[tokio::test]
async fn strings_that_try_to_escape() {
    let emu = sample().await;
    let inviter = inviter(&emu, Settings::default()).await;
    let message = format!("Hi\u{0}\u{7}\r\n\u{1b}[31m{}", "é".repeat(50_000));
    let response = invoke(
        &inviter,
        json!({
            "accountIds": ["111111111111", "１２３４５６７８９０１２", "11111111111\n", "<script>"],
            "accounts": [{"accountId": "777777777777", "email": "a@b.c\r\nBcc: victim@example.com"}],
            "message": message,
        }),
    )
    .await
    .unwrap();
    assert_eq!(response.invited_accounts, ["111111111111"]);
    // The message reached GuardDuty exactly as given.
    assert_eq!(
        emu.member(DETECTOR, "111111111111")
            .unwrap()
            .invited_message
            .as_deref(),
        Some(message.as_str())
    );
    assert!(result_of(&response, "１２３４５６７８９０１２").starts_with("invalid account ID"));
    assert!(result_of(&response, "11111111111\n").starts_with("invalid account ID"));
    let email = result_of(&response, "777777777777");
    assert!(email.starts_with("invalid e-mail"), "{email}");
    assert!(
        !email.contains("victim"),
        "the address is not echoed: {email}"
    );
    for u in &response.unprocessed_accounts {
        assert!(
            !u.result.contains("<script>") && !u.result.contains('\n'),
            "no input echoed: {}",
            u.result
        );
    }
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::Throttle),
        Just(Fault::ServerError),
        Just(Fault::InvalidJson),
        Just(Fault::ResetMidResponse),
    ]
}

const OPS: [&str; 5] = [
    "DescribeAccount",
    "ListAccounts",
    "GetMembers",
    "CreateMembers",
    "InviteMembers",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The exactly-once property over the wire, with random fault schedules.
    #[test]
    fn exactly_once_under_random_faults_on_the_wire(
        schedule in prop::collection::vec((0usize..OPS.len(), fault(), 1usize..6), 0..8),
        org in 0usize..60,
        outside in 1usize..120,
        with_emails in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let (emu, members, outsiders) = world(org, outside).await;
            for (op, fault, times) in &schedule {
                emu.inject(OPS[*op], *fault, *times);
            }
            let inviter = inviter(&emu, Settings::default()).await;
            let mut named = members.clone();
            named.extend(outsiders.iter().cloned());
            let event = if with_emails {
                let accounts: Vec<_> = outsiders.iter().map(|id| json!({"accountId": id, "email": "x@example.com"})).collect();
                json!({"accountIds": members, "accounts": accounts})
            } else {
                json!(named)
            };
            let response = invoke(&inviter, event).await.unwrap();
            assert_exactly_once(&named, &response);
            let org: HashSet<&String> = members.iter().collect();
            assert!(response.invited_accounts.iter().all(|id| !org.contains(id)));
            for id in &response.invited_accounts {
                assert_eq!(emu.member(DETECTOR, id).unwrap().relationship_status, "Invited");
            }
            emu.stop().await;
        });
    }
}
