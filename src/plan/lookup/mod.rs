//! The Organizations lookup: for every account the warm cache did not know,
//! is it a member of the caller's organization? One lookup serves the whole
//! invocation, whatever the number of Regions.
//!
//! Two ways to ask, and the cheaper depends on the organization's size,
//! which a fresh process does not know: one `DescribeAccount` per account,
//! or the sequential `ListAccounts` pages. [`choose_strategy`] picks one when
//! the size is known (or the event is too small for it to matter), else
//! races both, steered by what the calls show so far ([`estimate`]).

mod answers;
mod estimate;
#[cfg(test)]
mod estimate_tests;
mod machine;
mod report;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use machine::{Found, Learned, Lookup, Strategy, choose_strategy};
