//! Test helpers shared by the plan's unit tests, the integration tests and
//! the fuzz target: an in-memory AWS ([`FakeAws`]), the exactly-once check of
//! a response ([`assert_exactly_once`]) and account IDs to test with.
//!
//! Compiled only for this crate's own unit tests and with the `test-util`
//! feature (as the AWS SDK gates its test helpers); the `bootstrap` build
//! never has it.

mod accounts;
mod check;
mod fake;

pub use accounts::{
    ADMIN, OTHER_ADMIN, OWN_REGION, PerAccount, account_id, account_ids, is_account_id,
};
pub use check::assert_exactly_once;
pub use fake::{FakeAws, Fault, World};
