//! One Region's GuardDuty pipeline: its detector, every candidate's member
//! record, then only the member calls that move an account forward, in
//! batches of [`BATCH`], never more than the slots allow in flight at once.
//!
//! Accounts move forward through four queues: read (`GetMembers`), delete,
//! create, invite. Reads start as soon as the detector is known, side by
//! side with the Organizations lookup; what a record says is acted on only
//! once the lookup says the account is outside the organization (it is
//! *parked* until then). A batch waits to be full while accounts upstream may
//! still join it, so that N accounts take ceil(N/50) calls. With the member
//! side on, an account about to be written is *gated* until the member side
//! has made sure of its detector.

mod answers;
mod batch;
mod machine;
mod step;

pub use machine::{BATCH, Event, Flow, InvitationText, Pipeline, Setup};
pub use step::Intent;
