//! Who is calling, and where: the SigV4 credential scope of a request, the
//! member roles AssumeRole can assume, and the credentials it issued.
//!
//! Signatures are never verified. The access key ID of the scope decides the
//! acting identity: a key the emulator's AssumeRole issued acts as the member
//! account of that role; any other key acts as the administrator account.

use std::collections::HashMap;

/// Region used when a request carries no parseable credential scope (and by
/// every Rust API and control route that takes no Region). The Region the
/// project's tests sign with.
pub(crate) const DEFAULT_REGION: &str = "us-east-1";

/// Name of the role the administrator's identity is a session of: the
/// function's execution role as CloudFormation names it
/// (`<stack>-<logical id>-<suffix>`).
pub(crate) const ADMIN_ROLE_NAME: &str = "guardduty-inviter-InviterRole-1EXAMPLE2ROLE";
/// Session name of the administrator's identity (Lambda uses the function name).
pub(crate) const ADMIN_SESSION_NAME: &str = "guardduty-inviter-inviter";
/// Role ID (`AROA…`) of the administrator's role.
const ADMIN_ROLE_ID: &str = "AROAEMULATORADMINROLE";

/// `Credential=<AKID>/<date>/<region>/<service>/aws4_request` of a SigV4
/// `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub(crate) access_key_id: String,
    pub(crate) region: String,
    pub(crate) service: String,
}

/// Parses the credential scope of an `AWS4-HMAC-SHA256` `Authorization` header.
pub(crate) fn parse_scope(authorization: &str) -> Option<Scope> {
    let rest = authorization.strip_prefix("AWS4-HMAC-SHA256")?;
    let cred = rest
        .split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("Credential="))?;
    let mut it = cred.split('/');
    let access_key_id = it.next()?.to_string();
    let _date = it.next()?;
    let region = it.next()?.to_string();
    let service = it.next()?.to_string();
    (it.next()? == "aws4_request" && !region.is_empty()).then_some(Scope {
        access_key_id,
        region,
        service,
    })
}

/// The acting identity of a request and the Region it was signed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) account: String,
    pub(crate) region: String,
    /// `arn:aws:sts::<account>:assumed-role/<role name>/<session>`.
    pub(crate) arn: String,
    /// `<role id>:<session>`.
    pub(crate) user_id: String,
}

/// A role in a member account (`add_member_role`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Role {
    /// Path and name, without leading slash: `GuardDutyInviterMember` or
    /// `ops/GuardDutyInviterMember`.
    pub(crate) path_name: String,
    pub(crate) external_id: Option<String>,
    pub(crate) role_id: String,
}

impl Role {
    /// The name without its path.
    pub(crate) fn name(&self) -> &str {
        self.path_name.rsplit('/').next().unwrap_or(&self.path_name)
    }
}

/// Credentials AssumeRole issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) account: String,
    pub(crate) partition: String,
    pub(crate) role_name: String,
    pub(crate) role_id: String,
    pub(crate) session_name: String,
}

impl Session {
    pub(crate) fn arn(&self) -> String {
        format!(
            "arn:{}:sts::{}:assumed-role/{}/{}",
            self.partition, self.account, self.role_name, self.session_name
        )
    }
}

/// Member roles and issued credentials.
#[derive(Debug, Default)]
pub(crate) struct Iam {
    /// account -> roles.
    pub(crate) roles: HashMap<String, Vec<Role>>,
    /// access key ID -> session.
    pub(crate) sessions: HashMap<String, Session>,
    pub(crate) seq: u64,
}

impl Iam {
    /// Adds (or replaces) a role. A leading `/` (IAM's path form) is dropped.
    pub(crate) fn add_role(&mut self, account: &str, path_name: &str, external_id: Option<&str>) {
        let path_name = path_name.trim_start_matches('/').to_string();
        self.seq += 1;
        let role = Role {
            role_id: format!("AROA{:017X}", self.seq),
            path_name,
            external_id: external_id.map(str::to_string),
        };
        let roles = self.roles.entry(account.to_string()).or_default();
        roles.retain(|r| r.path_name != role.path_name);
        roles.push(role);
    }

    pub(crate) fn role(&self, account: &str, path_name: &str) -> Option<&Role> {
        self.roles
            .get(account)?
            .iter()
            .find(|r| r.path_name == path_name)
    }

    /// The acting identity for `access_key_id` (`None`: no scope) in `region`.
    pub(crate) fn caller(&self, access_key_id: Option<&str>, admin: &str, region: &str) -> Caller {
        match access_key_id.and_then(|k| self.sessions.get(k)) {
            Some(s) => Caller {
                account: s.account.clone(),
                region: region.to_string(),
                arn: s.arn(),
                user_id: format!("{}:{}", s.role_id, s.session_name),
            },
            None => Caller {
                account: admin.to_string(),
                region: region.to_string(),
                arn: format!(
                    "arn:aws:sts::{admin}:assumed-role/{ADMIN_ROLE_NAME}/{ADMIN_SESSION_NAME}"
                ),
                user_id: format!("{ADMIN_ROLE_ID}:{ADMIN_SESSION_NAME}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope() {
        let s = parse_scope("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-1/guardduty/aws4_request, SignedHeaders=host, Signature=00").unwrap();
        assert_eq!(s.access_key_id, "AKIDEXAMPLE");
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(s.service, "guardduty");
        assert_eq!(parse_scope("AWS4-HMAC-SHA256 Signature=00"), None);
        assert_eq!(parse_scope("Basic abc"), None);
        assert_eq!(
            parse_scope("AWS4-HMAC-SHA256 Credential=A/20240101/us-east-1/sts"),
            None
        );
    }

    #[test]
    fn roles_by_path() {
        let mut iam = Iam::default();
        iam.add_role("111111111111", "/ops/Member", None);
        assert_eq!(
            iam.role("111111111111", "ops/Member").unwrap().name(),
            "Member"
        );
        assert!(iam.role("111111111111", "Member").is_none());
    }
}
