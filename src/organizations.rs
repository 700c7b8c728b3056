//! The Organizations calls, reduced to what the plan needs to know.

use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::SdkError;
use aws_sdk_organizations::operation::describe_account::DescribeAccountError;
use aws_sdk_organizations::operation::list_accounts::ListAccountsError;

use crate::plan::{AccountsPage, LIST_PAGE, Membership, OrgError, org_id_from_arn};

/// `AccountNotFoundException` means the account is not in the organization.
pub async fn describe_account(client: &Client, account_id: &str) -> Result<Membership, OrgError> {
    match client
        .describe_account()
        .account_id(account_id)
        .send()
        .await
    {
        Ok(out) => Ok(Membership::Member {
            org_id: out
                .account()
                .and_then(|a| a.arn())
                .and_then(org_id_from_arn),
        }),
        Err(error) => match error.as_service_error() {
            Some(DescribeAccountError::AccountNotFoundException(_)) => Ok(Membership::NotMember),
            Some(DescribeAccountError::AwsOrganizationsNotInUseException(_)) => {
                Err(OrgError::NotInUse)
            }
            Some(DescribeAccountError::AccessDeniedException(e)) => Err(OrgError::AccessDenied(
                e.message().unwrap_or("access denied").to_owned(),
            )),
            _ => Err(OrgError::Other(crate::aws::error_text(&error))),
        },
    }
}

/// One page, at Organizations' largest page size.
pub async fn list_accounts(
    client: &Client,
    next_token: Option<String>,
) -> Result<AccountsPage, OrgError> {
    let answer = client
        .list_accounts()
        .max_results(LIST_PAGE)
        .set_next_token(next_token)
        .send()
        .await;
    match answer {
        Ok(out) => Ok(AccountsPage {
            accounts: out
                .accounts()
                .iter()
                .filter_map(|a| Some((a.id()?.to_owned(), a.arn().and_then(org_id_from_arn))))
                .collect(),
            next_token: out.next_token().map(str::to_owned),
        }),
        Err(error) => Err(list_error(&error)),
    }
}

fn list_error<R: std::fmt::Debug + 'static>(error: &SdkError<ListAccountsError, R>) -> OrgError {
    match error.as_service_error() {
        Some(ListAccountsError::AwsOrganizationsNotInUseException(_)) => OrgError::NotInUse,
        Some(ListAccountsError::AccessDeniedException(e)) => {
            OrgError::AccessDenied(e.message().unwrap_or("access denied").to_owned())
        }
        _ => OrgError::Other(crate::aws::error_text(error)),
    }
}
