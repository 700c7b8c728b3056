//! The account's Regions: what AWS Account `ListRegions` reports, and which
//! Regions GuardDuty refuses.

use std::collections::BTreeSet;

/// The commercial (`aws` partition) Regions with their opt-in status for an
/// account that enabled no opt-in Region: the 17 Regions launched before
/// March 2019 are `ENABLED_BY_DEFAULT`, the later (opt-in) ones `DISABLED`.
/// Region names from the `aws` partition of the SDK's endpoint metadata
/// (`aws-sdk-guardduty` 1.154 `endpoint_lib.rs`); which are opt-in from AWS's
/// "Enable or disable AWS Regions in your account" documentation.
pub const DEFAULT_REGIONS: [(&str, &str); 34] = [
    ("af-south-1", "DISABLED"),
    ("ap-east-1", "DISABLED"),
    ("ap-east-2", "DISABLED"),
    ("ap-northeast-1", "ENABLED_BY_DEFAULT"),
    ("ap-northeast-2", "ENABLED_BY_DEFAULT"),
    ("ap-northeast-3", "ENABLED_BY_DEFAULT"),
    ("ap-south-1", "ENABLED_BY_DEFAULT"),
    ("ap-south-2", "DISABLED"),
    ("ap-southeast-1", "ENABLED_BY_DEFAULT"),
    ("ap-southeast-2", "ENABLED_BY_DEFAULT"),
    ("ap-southeast-3", "DISABLED"),
    ("ap-southeast-4", "DISABLED"),
    ("ap-southeast-5", "DISABLED"),
    ("ap-southeast-6", "DISABLED"),
    ("ap-southeast-7", "DISABLED"),
    ("ca-central-1", "ENABLED_BY_DEFAULT"),
    ("ca-west-1", "DISABLED"),
    ("eu-central-1", "ENABLED_BY_DEFAULT"),
    ("eu-central-2", "DISABLED"),
    ("eu-north-1", "ENABLED_BY_DEFAULT"),
    ("eu-south-1", "DISABLED"),
    ("eu-south-2", "DISABLED"),
    ("eu-west-1", "ENABLED_BY_DEFAULT"),
    ("eu-west-2", "ENABLED_BY_DEFAULT"),
    ("eu-west-3", "ENABLED_BY_DEFAULT"),
    ("il-central-1", "DISABLED"),
    ("me-central-1", "DISABLED"),
    ("me-south-1", "DISABLED"),
    ("mx-central-1", "DISABLED"),
    ("sa-east-1", "ENABLED_BY_DEFAULT"),
    ("us-east-1", "ENABLED_BY_DEFAULT"),
    ("us-east-2", "ENABLED_BY_DEFAULT"),
    ("us-west-1", "ENABLED_BY_DEFAULT"),
    ("us-west-2", "ENABLED_BY_DEFAULT"),
];

/// Default most Regions a ListRegions page holds. The real default page size
/// is not documented (UNCONFIRMED); `MaxResults` (1..=50) lowers it.
pub const DEFAULT_REGIONS_PAGE_SIZE: usize = 20;

#[derive(Debug, Clone)]
pub(crate) struct Regions {
    /// (name, opt-in status), in listing order.
    pub(crate) list: Vec<(String, String)>,
    pub(crate) page_size: usize,
    /// Regions `disable_region` named (GuardDuty refuses them).
    pub(crate) disabled: BTreeSet<String>,
}

impl Default for Regions {
    fn default() -> Self {
        Regions {
            list: DEFAULT_REGIONS
                .iter()
                .map(|(n, s)| (n.to_string(), s.to_string()))
                .collect(),
            page_size: DEFAULT_REGIONS_PAGE_SIZE,
            disabled: BTreeSet::new(),
        }
    }
}

impl Regions {
    /// Whether GuardDuty refuses calls signed for `region`: named by
    /// `disable_region`, or `DISABLED` in the Region list (an opt-in Region
    /// the account has not enabled: real GuardDuty answers
    /// `UnrecognizedClientException` there, FIELD-NOTES section 3). A Region
    /// the list does not name is served.
    pub(crate) fn refuses(&self, region: &str) -> bool {
        self.disabled.contains(region)
            || self
                .list
                .iter()
                .any(|(n, s)| n == region && s == "DISABLED")
    }

    /// Sets `region`'s status in the list (appending it if absent).
    pub(crate) fn set_status(&mut self, region: &str, status: &str) {
        match self.list.iter_mut().find(|(n, _)| n == region) {
            Some((_, s)) => *s = status.to_string(),
            None => self.list.push((region.to_string(), status.to_string())),
        }
    }
}
