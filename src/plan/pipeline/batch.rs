//! When a batch goes out and what it says: full batches, or the rest once
//! nothing more can join; invitations with or without the e-mail.

use super::machine::{BATCH, Flow, Pipeline};
use super::step::Intent;
use super::step::Step;
use crate::plan::call::Call;

impl Pipeline {
    /// Nothing more can join `step`'s queue: upstream is empty and idle.
    pub(super) fn upstream_done(&self, step: Step, flow: &Flow<'_>) -> bool {
        flow.lookups_done
            && self.gated == 0
            && Step::ALL
                .iter()
                .take_while(|&&s| s != step)
                .all(|&s| self.queues[s as usize].is_empty() && self.sending[s as usize] == 0)
    }

    /// The batch of `step` to send now, if one is due, and for an
    /// invitation whether it goes without an e-mail: a full batch, or what
    /// is left once no more accounts can join it (or time is short).
    pub(super) fn take_batch(&mut self, step: Step, flow: &Flow<'_>) -> Option<(Vec<usize>, bool)> {
        let queue = &self.queues[step as usize];
        if queue.is_empty() || (step.changes() && !flow.gate_open) {
            return None;
        }
        // Reads have no upstream: every candidate is enlisted at the start.
        let upstream_done = step == Step::Read || self.upstream_done(step, flow);
        if step != Step::Invite {
            let last = self.wrapping_up || upstream_done;
            if queue.len() < BATCH && !last {
                return None;
            }
            let n = queue.len().min(BATCH);
            return Some((self.queues[step as usize].drain(..n).collect(), false));
        }
        // Invitations go in two kinds of batch, with and without the e-mail;
        // an account waits while an earlier Region may still invite it.
        let mut groups: [Vec<usize>; 2] = Default::default();
        let mut undecided = false;
        for &i in queue {
            match self.quiet(i, flow.earlier) {
                Some(quiet) => groups[usize::from(quiet)].push(i),
                None => undecided = true,
            }
        }
        let last = self.wrapping_up || (upstream_done && !undecided);
        let (quiet, group) = groups
            .into_iter()
            .enumerate()
            .find(|(_, g)| !g.is_empty() && (g.len() >= BATCH || last))?;
        let batch: Vec<usize> = group.into_iter().take(BATCH).collect();
        self.queues[step as usize].retain(|i| !batch.contains(i));
        Some((batch, quiet == 1))
    }

    /// Whether account `i` is invited here without the e-mail: GuardDuty
    /// sends it in the first Region that invites the account, and only
    /// there. `None` while an earlier Region may still invite it (when time
    /// is short, it goes without).
    pub(super) fn quiet(&self, i: usize, earlier: &[Pipeline]) -> Option<bool> {
        if self.invitation.disable_email_notification {
            return Some(true);
        }
        for pipeline in earlier {
            match pipeline.intent(i) {
                Intent::Invite => return Some(true),
                Intent::Unknown if self.wrapping_up => return Some(true),
                Intent::Unknown => return None,
                Intent::No => {}
            }
        }
        Some(false)
    }

    pub(super) fn call(
        &mut self,
        step: Step,
        detector_id: &str,
        batch: &[usize],
        quiet: bool,
        flow: &Flow<'_>,
    ) -> Call {
        let region = self.region.clone();
        let detector_id = detector_id.to_owned();
        let account_ids = || batch.iter().map(|&i| flow.ids[i].clone()).collect();
        self.changed |= step.changes();
        match step {
            Step::Read => Call::GetMembers {
                region,
                detector_id,
                account_ids: account_ids(),
            },
            Step::Delete => Call::DeleteMembers {
                region,
                detector_id,
                account_ids: account_ids(),
            },
            Step::Create => Call::CreateMembers {
                region,
                detector_id,
                accounts: batch
                    .iter()
                    .map(|&i| {
                        (
                            flow.ids[i].clone(),
                            flow.emails[i].clone().unwrap_or_default(),
                        )
                    })
                    .collect(),
            },
            Step::Invite => Call::InviteMembers {
                region,
                detector_id,
                account_ids: account_ids(),
                message: self.invitation.message.clone(),
                disable_email_notification: quiet,
            },
        }
    }
}
