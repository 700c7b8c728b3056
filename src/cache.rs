//! What a warm process remembers of Organizations' answers, for
//! `ORGANIZATIONS_CACHE_SECONDS`. Time is passed in, so the rules are tested
//! without waiting.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::plan::{Learned, Membership};

#[derive(Debug)]
pub struct OrgCache {
    ttl: Duration,
    no_organization: Option<Instant>,
    /// Every member of the organization, from a complete listing.
    listing: Option<(Instant, HashMap<String, Option<String>>)>,
    accounts: HashMap<String, (Instant, Membership)>,
    /// The organization's page count: only a hint for choosing the strategy,
    /// so it outlives the TTL.
    pages: Option<usize>,
}

impl OrgCache {
    pub fn new(ttl: Duration) -> Self {
        OrgCache {
            ttl,
            no_organization: None,
            listing: None,
            accounts: HashMap::new(),
            pages: None,
        }
    }

    pub fn lookup(&self, account_id: &str, now: Instant) -> Option<Membership> {
        let fresh = |at: &Instant| now.saturating_duration_since(*at) < self.ttl;
        if self.no_organization.as_ref().is_some_and(fresh) {
            return Some(Membership::NotMember);
        }
        if let Some((at, membership)) = self.accounts.get(account_id)
            && fresh(at)
        {
            return Some(membership.clone());
        }
        if let Some((at, members)) = &self.listing
            && fresh(at)
        {
            return Some(match members.get(account_id) {
                Some(org_id) => Membership::Member {
                    org_id: org_id.clone(),
                },
                None => Membership::NotMember,
            });
        }
        None
    }

    pub fn pages(&self) -> Option<usize> {
        self.pages
    }

    pub fn record(&mut self, learned: Learned, now: Instant) {
        if learned.pages.is_some() {
            self.pages = learned.pages;
        }
        if self.ttl.is_zero() {
            return;
        }
        let ttl = self.ttl;
        self.accounts
            .retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
        if learned.no_organization {
            self.no_organization = Some(now);
            self.listing = None;
            self.accounts.clear();
            return;
        }
        self.no_organization = None;
        if let Some(listing) = learned.full_listing {
            self.listing = Some((now, listing.into_iter().collect()));
            self.accounts.clear();
        }
        for (account_id, membership) in learned.accounts {
            self.accounts.insert(account_id, (now, membership));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> Membership {
        Membership::Member {
            org_id: Some("o-1".into()),
        }
    }

    #[test]
    fn answers_expire_after_the_ttl() {
        let t0 = Instant::now();
        let mut cache = OrgCache::new(Duration::from_secs(300));
        cache.record(
            Learned {
                accounts: vec![
                    ("111111111111".into(), member()),
                    ("222222222222".into(), Membership::NotMember),
                ],
                ..Learned::default()
            },
            t0,
        );
        assert_eq!(cache.lookup("111111111111", t0), Some(member()));
        assert_eq!(
            cache.lookup("222222222222", t0 + Duration::from_secs(299)),
            Some(Membership::NotMember)
        );
        assert_eq!(
            cache.lookup("222222222222", t0 + Duration::from_secs(300)),
            None
        );
        assert_eq!(cache.lookup("333333333333", t0), None);
    }

    #[test]
    fn a_full_listing_answers_for_every_account() {
        let t0 = Instant::now();
        let mut cache = OrgCache::new(Duration::from_secs(60));
        cache.record(
            Learned {
                full_listing: Some(vec![("111111111111".into(), Some("o-1".into()))]),
                pages: Some(3),
                ..Learned::default()
            },
            t0,
        );
        assert_eq!(cache.lookup("111111111111", t0), Some(member()));
        assert_eq!(
            cache.lookup("999999999999", t0),
            Some(Membership::NotMember)
        );
        assert_eq!(cache.pages(), Some(3));
    }

    #[test]
    fn no_organization_means_nobody_is_a_member() {
        let t0 = Instant::now();
        let mut cache = OrgCache::new(Duration::from_secs(60));
        cache.record(
            Learned {
                no_organization: true,
                ..Learned::default()
            },
            t0,
        );
        assert_eq!(
            cache.lookup("111111111111", t0),
            Some(Membership::NotMember)
        );
    }

    #[test]
    fn ttl_zero_remembers_nothing() {
        let t0 = Instant::now();
        let mut cache = OrgCache::new(Duration::ZERO);
        cache.record(
            Learned {
                accounts: vec![("111111111111".into(), member())],
                no_organization: false,
                full_listing: Some(vec![]),
                pages: Some(1),
            },
            t0,
        );
        assert_eq!(cache.lookup("111111111111", t0), None);
        assert_eq!(cache.lookup("222222222222", t0), None);
    }
}
