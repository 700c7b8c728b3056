//! The state's GuardDuty spaces (one per account and Region): lookup,
//! seeding members, and sending or withdrawing invitations.

use crate::model::{Invitation, Member, status_implies_invitation};
use crate::space::Space;
use crate::state::State;
use crate::util::{SplitMix64, now_iso8601};

impl State {
    pub(crate) fn space(&self, account: &str, region: &str) -> Option<&Space> {
        self.spaces.get(&(account.to_string(), region.to_string()))
    }

    pub(crate) fn space_mut(&mut self, account: &str, region: &str) -> &mut Space {
        self.spaces
            .entry((account.to_string(), region.to_string()))
            .or_default()
    }

    /// The administrator's space in `region`.
    pub(crate) fn admin_space_mut(&mut self, region: &str) -> &mut Space {
        let admin = self.admin_account_id.clone();
        self.space_mut(&admin, region)
    }

    /// A member of the administrator's `detector` in `region`.
    pub(crate) fn member_in(&self, region: &str, detector: &str, account: &str) -> Option<&Member> {
        self.space(&self.admin_account_id, region)?
            .members
            .get(detector)?
            .get(account)
    }

    /// A fresh 32-hex-digit ID (GuardDuty's detector and invitation IDs
    /// have this form), deterministic per emulator.
    pub(crate) fn fresh_hex_id(&mut self) -> String {
        self.id_seq += 1;
        let mut rng = SplitMix64(0x6775_6172_6464_7574 ^ self.id_seq);
        format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())
    }

    /// Seeds (or overwrites) a member of the administrator's `detector` in
    /// `region` with any status; creates the detector if needed. `invitedAt`
    /// is set when the status implies an invitation went out. An `Invited`
    /// member also gets a pending invitation from the administrator in its
    /// own account (a fresh one unless one is pending already); any other
    /// status withdraws the administrator's pending invitation.
    pub(crate) fn put_member_in(
        &mut self,
        region: &str,
        detector_id: &str,
        account_id: &str,
        email: &str,
        status: &str,
    ) {
        let admin = self.admin_account_id.clone();
        let now = now_iso8601();
        let invited_at = status_implies_invitation(status).then(|| now.clone());
        let space = self.admin_space_mut(region);
        space.ensure_detector(detector_id);
        space
            .members
            .entry(detector_id.to_string())
            .or_default()
            .insert(
                account_id.to_string(),
                Member {
                    detector_id: detector_id.to_string(),
                    account_id: account_id.to_string(),
                    email: email.to_string(),
                    relationship_status: status.to_string(),
                    invited_at,
                    updated_at: now,
                    invited_message: None,
                    disable_email_notification: None,
                    invite_count: 0,
                },
            );
        if status == "Invited" {
            let pending = self
                .space(account_id, region)
                .is_some_and(|s| s.invitations.iter().any(|i| i.account_id == admin));
            if !pending {
                self.send_invitation(account_id, region, &admin);
            }
        } else {
            self.withdraw_invitation(account_id, region, &admin);
        }
    }

    /// Gives `to` in `region` a fresh pending invitation from `from`
    /// (replacing a pending one from `from`).
    pub(crate) fn send_invitation(&mut self, to: &str, region: &str, from: &str) {
        let id = self.fresh_hex_id();
        self.add_invitation(to, region, from, &id);
    }

    /// Adds a pending invitation with a given ID (replacing a pending one
    /// from the same sender).
    pub(crate) fn add_invitation(&mut self, to: &str, region: &str, from: &str, id: &str) {
        let space = self.space_mut(to, region);
        space.invitations.retain(|i| i.account_id != from);
        space.invitations.push(Invitation {
            account_id: from.to_string(),
            invitation_id: id.to_string(),
            relationship_status: "Invited".to_string(),
            invited_at: now_iso8601(),
        });
    }

    /// Removes the pending invitation `from` sent to `to` in `region`, if any.
    pub(crate) fn withdraw_invitation(&mut self, to: &str, region: &str, from: &str) {
        if let Some(space) = self.spaces.get_mut(&(to.to_string(), region.to_string())) {
            space.invitations.retain(|i| i.account_id != from);
        }
    }

    /// Moves every space of the administrator to a new account ID.
    pub(crate) fn rename_admin(&mut self, new_id: &str) {
        let old = std::mem::replace(&mut self.admin_account_id, new_id.to_string());
        if old == new_id {
            return;
        }
        let keys: Vec<(String, String)> = self
            .spaces
            .keys()
            .filter(|(a, _)| *a == old)
            .cloned()
            .collect();
        for key in keys {
            if let Some(space) = self.spaces.remove(&key) {
                self.spaces.insert((new_id.to_string(), key.1), space);
            }
        }
    }
}
