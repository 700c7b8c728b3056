//! Account IDs to test with, and answers per account (listed or by rule).

use std::collections::HashMap;

/// The administrator's own account the tests invoke as.
pub const ADMIN: &str = "999999999999";

/// Another administrator, whose invitations wait in every member account of
/// the fake and must never be accepted.
pub const OTHER_ADMIN: &str = "888888888888";

/// The Region the fake says the function runs in.
pub const OWN_REGION: &str = "us-east-1";

/// The 12-digit account ID `base + n`.
pub fn account_id(base: u64, n: usize) -> String {
    let id = format!("{:012}", base + n as u64);
    assert_eq!(id.len(), 12, "{id} is not 12 digits");
    id
}

/// `count` consecutive account IDs from `base`.
pub fn account_ids(base: u64, count: usize) -> Vec<String> {
    (0..count).map(|n| account_id(base, n)).collect()
}

/// Exactly 12 ASCII digits, checked here without the code under test.
pub fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// Something per account: listed one by one, or by a rule (for instance on
/// the ID's digits) for the accounts the list does not hold.
pub struct PerAccount<T> {
    pub listed: HashMap<String, T>,
    pub rule: Option<fn(&str) -> Option<T>>,
}

impl<T: Clone> PerAccount<T> {
    pub fn by(rule: fn(&str) -> Option<T>) -> Self {
        PerAccount {
            listed: HashMap::new(),
            rule: Some(rule),
        }
    }

    pub fn get(&self, id: &str) -> Option<T> {
        self.listed
            .get(id)
            .cloned()
            .or_else(|| self.rule.and_then(|rule| rule(id)))
    }
}

impl<T> Default for PerAccount<T> {
    fn default() -> Self {
        PerAccount {
            listed: HashMap::new(),
            rule: None,
        }
    }
}

impl<T> FromIterator<(String, T)> for PerAccount<T> {
    fn from_iter<I: IntoIterator<Item = (String, T)>>(iter: I) -> Self {
        PerAccount {
            listed: iter.into_iter().collect(),
            rule: None,
        }
    }
}
