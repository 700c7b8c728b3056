//! The Organizations calls, reduced to what the plan needs to know.

use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::SdkError;
use aws_sdk_organizations::operation::describe_account::DescribeAccountError;
use aws_sdk_organizations::operation::list_accounts::ListAccountsError;

use super::error::error_text;
use crate::plan::{AccountsPage, Membership, OrgError};

/// Organizations' largest `ListAccounts` page (bench/bound.py reads it here).
pub const LIST_PAGE: i32 = 20;

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
            _ => Err(OrgError::Other(error_text(&error))),
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
        _ => OrgError::Other(error_text(error)),
    }
}

/// The organization ID from an Organizations account ARN,
/// `arn:aws:organizations::<management>:account/<org-id>/<account-id>`.
pub fn org_id_from_arn(arn: &str) -> Option<String> {
    let mut parts = arn.rsplit(':').next()?.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("account"), Some(org), Some(_)) if org.starts_with("o-") => Some(org.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_id_is_read_from_account_arns() {
        assert_eq!(
            org_id_from_arn(
                "arn:aws:organizations::999999999999:account/o-exampleorgid/222222222222"
            ),
            Some("o-exampleorgid".into())
        );
        assert_eq!(org_id_from_arn("nonsense"), None);
    }
}
