//! The exactly-once check of a response.

use std::collections::HashMap;

use crate::response::Response;

/// Every distinct account of `named` appears in exactly one list of
/// `response`, nothing else appears, and each list keeps the order in which
/// `named` first names its accounts.
pub fn assert_exactly_once<S: AsRef<str>>(named: &[S], response: &Response) {
    let mut position: HashMap<&str, usize> = HashMap::new();
    for id in named {
        let next = position.len();
        position.entry(id.as_ref()).or_insert(next);
    }
    let mut listed: Vec<&str> = response.accounts().collect();
    listed.sort_unstable();
    let mut distinct: Vec<&str> = position.keys().copied().collect();
    distinct.sort_unstable();
    assert_eq!(listed, distinct, "each account exactly once: {response:?}");
    let skipped = response.skipped_accounts.iter().map(|s| &s.account_id);
    let unprocessed = response.unprocessed_accounts.iter().map(|u| &u.account_id);
    let lists: [Vec<&String>; 4] = [
        response.invited_accounts.iter().collect(),
        response.would_invite_accounts.iter().flatten().collect(),
        skipped.collect(),
        unprocessed.collect(),
    ];
    for list in lists {
        assert!(
            list.windows(2)
                .all(|w| position[w[0].as_str()] < position[w[1].as_str()]),
            "input order kept: {list:?}"
        );
    }
}
