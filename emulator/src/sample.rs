//! Deterministic seed data: the demo's sample organization and generated
//! large organizations.

use std::collections::HashSet;

use crate::state::{Organization, State};
use crate::util::SplitMix64;

/// Detector ID used by the sample organization.
pub(crate) const SAMPLE_DETECTOR_ID: &str = "12abc34d567e8fa901bc2d34e56789f0";
/// Organization ID used by the sample organization.
pub(crate) const SAMPLE_ORG_ID: &str = "o-exampleorgid";
/// Management account used by the sample organization.
pub(crate) const SAMPLE_MANAGEMENT_ACCOUNT_ID: &str = "999999999999";

/// Members of the sample detector with the other statuses (IDs no other file
/// of the repository used when they were added).
pub(crate) const SAMPLE_STATUS_MEMBERS: [(&str, &str); 4] = [
    ("131313131313", "Enabled"),
    ("141414141414", "Invited"),
    ("161616161616", "EmailVerificationFailed"),
    ("171717171717", "Disabled"),
];

fn sample_org() -> Organization {
    Organization {
        id: SAMPLE_ORG_ID.to_string(),
        management_account_id: SAMPLE_MANAGEMENT_ACCOUNT_ID.to_string(),
    }
}

impl State {
    /// Seeds the sample organization (documented on
    /// `Emulator::sample_organization`).
    pub(crate) fn seed_sample_organization(&mut self) {
        self.admin_account_id = SAMPLE_MANAGEMENT_ACCOUNT_ID.to_string();
        self.ensure_detector(SAMPLE_DETECTOR_ID);
        self.org = Some(sample_org());
        self.upsert_org_account("222222222222", "ACTIVE");
        self.upsert_org_account("444444444444", "SUSPENDED");
        self.upsert_org_account("555555555555", "ACTIVE");
        self.put_member(
            SAMPLE_DETECTOR_ID,
            "111111111111",
            "111@example.com",
            "Removed",
        );
        for (id, status) in SAMPLE_STATUS_MEMBERS {
            let email = format!("{}@example.com", &id[..3]);
            self.put_member(SAMPLE_DETECTOR_ID, id, &email, status);
        }
    }

    /// Adds `n` generated `ACTIVE` org accounts (documented on
    /// `Emulator::large_organization`) and returns them in listing order.
    pub(crate) fn seed_large_organization(&mut self, n: usize, seed: u64) -> Vec<String> {
        if self.org.is_none() {
            self.org = Some(sample_org());
        }
        let mut rng = SplitMix64(seed);
        let mut seen: HashSet<String> = self.org_index.keys().cloned().collect();
        seen.insert(self.admin_account_id.clone());
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            // 100000000000..=999999999999: always 12 digits, no leading zero.
            let id = (100_000_000_000 + rng.next_u64() % 900_000_000_000).to_string();
            if seen.insert(id.clone()) {
                self.upsert_org_account(&id, "ACTIVE");
                out.push(id);
            }
        }
        out
    }
}
