//! GuardDuty state of one account in one Region: its detectors, the members
//! of those detectors, the invitations it received and the administrator
//! whose invitation it accepted.

use std::collections::HashMap;

use crate::model::{Invitation, Member};

#[derive(Debug, Default, Clone)]
pub(crate) struct Space {
    /// Detector IDs, in creation order (at most one through CreateDetector;
    /// seeding can add more).
    pub(crate) detectors: Vec<String>,
    /// detector id -> member account id -> member.
    pub(crate) members: HashMap<String, HashMap<String, Member>>,
    /// Pending invitations this account received, oldest first; at most one
    /// per inviting account.
    pub(crate) invitations: Vec<Invitation>,
    /// The administrator whose invitation this account accepted.
    pub(crate) administrator: Option<String>,
}

impl Space {
    pub(crate) fn has_detector(&self, id: &str) -> bool {
        self.detectors.iter().any(|d| d == id)
    }

    pub(crate) fn ensure_detector(&mut self, id: &str) {
        if !self.has_detector(id) {
            self.detectors.push(id.to_string());
        }
        self.members.entry(id.to_string()).or_default();
    }
}
