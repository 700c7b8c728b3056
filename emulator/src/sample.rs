//! Deterministic seed data: the demo's sample organization and generated
//! large organizations.

use std::collections::HashSet;

use crate::identity::DEFAULT_REGION;
use crate::regions::Regions;
use crate::state::{Organization, State};
use crate::util::SplitMix64;

/// Detector ID used by the sample organization.
pub(crate) const SAMPLE_DETECTOR_ID: &str = "12abc34d567e8fa901bc2d34e56789f0";
/// Organization ID used by the sample organization.
pub(crate) const SAMPLE_ORG_ID: &str = "o-exampleorgid";
/// Management account used by the sample organization.
pub(crate) const SAMPLE_MANAGEMENT_ACCOUNT_ID: &str = "999999999999";
/// The administrator's detector in `eu-west-1`.
pub(crate) const SAMPLE_DETECTOR_ID_EU_WEST_1: &str = "4e7a1c0b9d8f2a3e5b6c7d8e9f0a1b2c";
/// The administrator's detector in `us-west-2`.
pub(crate) const SAMPLE_DETECTOR_ID_US_WEST_2: &str = "7b2e9d4c1a0f8e3d6c5b4a3928170f6e";
/// An account outside the organization that provides the member role.
pub(crate) const SAMPLE_MEMBER_ACCOUNT_ID: &str = "191919191919";
/// The member role of [`SAMPLE_MEMBER_ACCOUNT_ID`] (no external ID).
pub(crate) const SAMPLE_MEMBER_ROLE_NAME: &str = "GuardDutyInviterMember";
/// The detector of [`SAMPLE_MEMBER_ACCOUNT_ID`] in `us-east-1`.
pub(crate) const SAMPLE_MEMBER_DETECTOR_ID: &str = "a6c1f0e9d8b7c6a5f4e3d2c1b0a9f8e7";
/// ListRegions page size of the sample: its 18 enabled Regions take two
/// pages, its 34 Regions four.
pub(crate) const SAMPLE_REGIONS_PAGE_SIZE: usize = 10;

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
        self.rename_admin(SAMPLE_MANAGEMENT_ACCOUNT_ID);
        self.admin_space_mut(DEFAULT_REGION)
            .ensure_detector(SAMPLE_DETECTOR_ID);
        self.org = Some(sample_org());
        self.upsert_org_account("222222222222", "ACTIVE");
        self.upsert_org_account("444444444444", "SUSPENDED");
        self.upsert_org_account("555555555555", "ACTIVE");
        self.put_member_in(
            DEFAULT_REGION,
            SAMPLE_DETECTOR_ID,
            "111111111111",
            "111@example.com",
            "Removed",
        );
        for (id, status) in SAMPLE_STATUS_MEMBERS {
            let email = format!("{}@example.com", &id[..3]);
            self.put_member_in(DEFAULT_REGION, SAMPLE_DETECTOR_ID, id, &email, status);
        }
        self.seed_sample_regions();
    }

    /// The sample's Regions and member account (documented on
    /// `Emulator::sample_organization`).
    fn seed_sample_regions(&mut self) {
        self.admin_space_mut("eu-west-1")
            .ensure_detector(SAMPLE_DETECTOR_ID_EU_WEST_1);
        self.admin_space_mut("us-west-2")
            .ensure_detector(SAMPLE_DETECTOR_ID_US_WEST_2);
        self.regions = Regions::default();
        self.regions.set_status("ap-east-1", "ENABLED");
        self.regions.set_status("me-south-1", "DISABLED");
        self.regions.page_size = SAMPLE_REGIONS_PAGE_SIZE;
        self.iam
            .add_role(SAMPLE_MEMBER_ACCOUNT_ID, SAMPLE_MEMBER_ROLE_NAME, None);
        self.space_mut(SAMPLE_MEMBER_ACCOUNT_ID, DEFAULT_REGION)
            .ensure_detector(SAMPLE_MEMBER_DETECTOR_ID);
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
