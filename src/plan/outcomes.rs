//! The one place outcomes are written: one per account and Region, the
//! first recorded being the last. This is what makes "every account exactly
//! once" hold whatever order the machines report in.

use crate::response::{FailCode, Outcome};

/// Per Region, per account (by index in input order).
#[derive(Debug)]
pub struct Outcomes {
    table: Vec<Vec<Option<Outcome>>>,
    done: usize,
}

impl Outcomes {
    pub fn new(regions: usize, accounts: usize) -> Outcomes {
        Outcomes {
            table: vec![vec![None; accounts]; regions],
            done: 0,
        }
    }

    /// Account `i`'s outcome in Region `r`, unless it has one already.
    pub fn record(&mut self, r: usize, i: usize, outcome: Outcome) {
        let slot = &mut self.table[r][i];
        if slot.is_none() {
            *slot = Some(outcome);
            self.done += 1;
        }
    }

    /// The same outcome in every Region (decided before any Region's work).
    pub fn record_all(&mut self, i: usize, outcome: Outcome) {
        for r in 0..self.table.len() {
            self.record(r, i, outcome.clone());
        }
    }

    /// True once every account has its outcome in every Region.
    pub fn is_complete(&self) -> bool {
        self.done == self.table.iter().map(Vec::len).sum::<usize>()
    }

    /// Per Region, every account's outcome; one never recorded (which the
    /// machines' own wrap-up should leave none of) is of unknown outcome.
    pub fn into_rows(self) -> impl Iterator<Item = Vec<Outcome>> {
        self.table.into_iter().map(|row| {
            row.into_iter()
                .map(|outcome| {
                    outcome.unwrap_or_else(|| {
                        Outcome::failed(
                            FailCode::OutcomeUnknown,
                            "outcome unknown; retrying is safe",
                        )
                    })
                })
                .collect()
        })
    }
}
