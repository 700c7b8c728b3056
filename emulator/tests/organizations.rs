//! The Organizations operations through the real SDK client: DescribeOrganization,
//! DescribeAccount, ListAccounts and its paging (empty pages included).

use emulator::Emulator;

mod common;
use common::{clients, describe, sample};

async fn org_client(emu: &Emulator) -> aws_sdk_organizations::Client {
    clients(emu).await.1
}

#[tokio::test]
async fn organizations_operations() {
    let emu = sample().await;
    let org = org_client(&emu).await;

    let o = org.describe_organization().send().await.unwrap();
    let o = o.organization().unwrap();
    assert_eq!(o.id(), Some("o-exampleorgid"));
    assert_eq!(o.master_account_id(), Some("999999999999"));
    assert_eq!(o.feature_set().map(|f| f.as_str()), Some("ALL"));
    assert!(o.master_account_email().is_some());
    assert!(
        o.arn()
            .unwrap()
            .starts_with("arn:aws:organizations::999999999999:")
    );

    let a = describe(&org, "444444444444").await.unwrap();
    let a = a.account().unwrap();
    assert_eq!(a.id(), Some("444444444444"));
    #[allow(deprecated)]
    let status = a.status().map(|s| s.as_str().to_string());
    assert_eq!(status.as_deref(), Some("SUSPENDED"));
    assert_eq!(
        a.arn(),
        Some("arn:aws:organizations::999999999999:account/o-exampleorgid/444444444444")
    );
    assert!(a.email().is_some() && a.name().is_some());
    assert!(a.joined_method().is_some());
    assert!(a.joined_timestamp().unwrap().secs() > 1_500_000_000);

    let err = describe(&org, "123456789012").await.unwrap_err();
    assert!(err.into_service_error().is_account_not_found_exception());

    let page = org.list_accounts().send().await.unwrap();
    let listed: Vec<&str> = page.accounts().iter().filter_map(|a| a.id()).collect();
    assert_eq!(listed, ["222222222222", "444444444444", "555555555555"]);
    assert!(page.next_token().is_none());

    let err = org
        .list_accounts()
        .max_results(21)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_input_exception());
    let err = org
        .list_accounts()
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_input_exception());

    assert_eq!(
        emu.calls()
            .iter()
            .filter(|c| c.service == "organizations")
            .count(),
        6
    );
    emu.stop().await;
}

#[tokio::test]
async fn organizations_not_in_use() {
    let emu = Emulator::start().await.unwrap();
    let org = org_client(&emu).await;
    let err = org.describe_organization().send().await.unwrap_err();
    assert!(
        err.into_service_error()
            .is_aws_organizations_not_in_use_exception()
    );
    let err = org.list_accounts().send().await.unwrap_err();
    assert!(
        err.into_service_error()
            .is_aws_organizations_not_in_use_exception()
    );
    emu.sample_organization();
    emu.clear_organization();
    let err = describe(&org, "222222222222").await.unwrap_err();
    assert!(
        err.into_service_error()
            .is_aws_organizations_not_in_use_exception()
    );
    emu.stop().await;
}

async fn list_all(org: &aws_sdk_organizations::Client, page: i32) -> Vec<String> {
    let pages = org
        .list_accounts()
        .max_results(page)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    pages
        .iter()
        .flat_map(|p| p.accounts())
        .map(|a| a.id().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn paginates_2000_accounts_with_empty_pages() {
    let emu = Emulator::start().await.unwrap();
    let ids = emu.large_organization(2000, 7);
    assert_eq!(ids.len(), 2000);
    assert!(ids.iter().all(|i| i.len() == 12));
    // Deterministic.
    let again = Emulator::start().await.unwrap();
    assert_eq!(again.large_organization(2000, 7), ids);
    let org = org_client(&emu).await;

    assert_eq!(list_all(&org, 20).await, ids);
    assert_eq!(emu.count("ListAccounts"), 100);

    // An empty page before every 3rd real page.
    emu.reset_calls();
    emu.set_empty_pages(3);
    assert_eq!(list_all(&org, 20).await, ids);
    assert_eq!(emu.count("ListAccounts"), 100 + 33);

    // Before every page, the first one included.
    emu.reset_calls();
    emu.set_empty_pages(1);
    let first = org.list_accounts().send().await.unwrap();
    assert!(first.accounts().is_empty());
    assert!(first.next_token().is_some());
    emu.reset_calls();
    assert_eq!(list_all(&org, 20).await, ids);
    assert_eq!(emu.count("ListAccounts"), 200);

    // Default page size (no MaxResults) is 20.
    emu.set_empty_pages(0);
    let first = org.list_accounts().send().await.unwrap();
    assert_eq!(first.accounts().len(), 20);
    emu.stop().await;
    again.stop().await;
}
