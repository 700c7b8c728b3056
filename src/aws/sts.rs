//! STS: the member role's credentials (through `aws_config`'s own
//! `AssumeRoleProvider`), and the caller's account when the function's ARN
//! does not name it.

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_guardduty::config::{Credentials, ProvideCredentials};
use aws_sdk_guardduty::error::{DisplayErrorContext, SdkError};
use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;

use super::error::{call_error, error_text};
use crate::plan::CallError;

/// `RoleSessionName`: names the function, in STS's characters, at most 64.
pub fn session_name(function_name: Option<&str>) -> String {
    let name: String = format!("guardduty-inviter-{}", function_name.unwrap_or("local"))
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    name
}

/// One `AssumeRole`, with the SDK's retries; the role's credentials, or why
/// there are none. Always worth retrying later: the member account may
/// deploy its role at any time.
pub async fn assume_role(
    config: &SdkConfig,
    role_arn: String,
    external_id: Option<String>,
    session_name: &str,
) -> Result<Credentials, CallError> {
    let mut builder = AssumeRoleProvider::builder(role_arn).session_name(session_name);
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    let provider = builder.configure(config).build().await;
    provider.provide_credentials().await.map_err(|e| {
        let refused = std::error::Error::source(&e)
            .and_then(|source| source.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>());
        let message = match refused {
            Some(error) => error_text(error),
            None => DisplayErrorContext(&e).to_string(),
        };
        CallError::new(message, true)
    })
}

/// The account the function's credentials belong to. GetCallerIdentity needs
/// no permission.
pub async fn caller_account(client: &aws_sdk_sts::Client) -> Result<String, CallError> {
    let out = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| call_error(&e))?;
    out.account()
        .map(str::to_owned)
        .ok_or_else(|| CallError::new("GetCallerIdentity named no account", true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_name_the_function_within_sts_limits() {
        assert_eq!(session_name(Some("inviter")), "guardduty-inviter-inviter");
        assert_eq!(session_name(None), "guardduty-inviter-local");
        let long = session_name(Some(&"x".repeat(100)));
        assert_eq!(long.len(), 64);
        assert_eq!(session_name(Some("a b/c")), "guardduty-inviter-a-b-c");
    }
}
