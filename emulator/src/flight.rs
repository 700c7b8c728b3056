//! Recording a call and counting it in flight.
//!
//! A call counts in flight under three keys: its service (`guardduty`), its
//! service and Region (`guardduty:us-east-1`), and its service, Region and
//! acting account (`guardduty:us-east-1:999999999999`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::{Call, Fault};
use crate::state::Shared;

/// What is known of a call when it arrives.
#[derive(Debug, Clone)]
pub(crate) struct CallMeta {
    pub(crate) op: &'static str,
    pub(crate) service: &'static str,
    /// Account IDs the request names.
    pub(crate) accounts: Vec<String>,
    pub(crate) disable_email_notification: Option<bool>,
    pub(crate) authorized: bool,
    pub(crate) region: String,
    /// The acting account.
    pub(crate) account: String,
    /// The request's `X-Amzn-Trace-Id` header, if any.
    pub(crate) trace_id: Option<String>,
    /// Whether a queued fault may apply (not for unsigned requests, nor for
    /// requests refused before the operation, such as a disabled Region).
    pub(crate) faultable: bool,
}

/// The `max_in_flight` keys of a call.
pub(crate) fn flight_keys(service: &str, region: &str, account: &str) -> [String; 3] {
    [
        service.to_string(),
        format!("{service}:{region}"),
        format!("{service}:{region}:{account}"),
    ]
}

/// Counts a request in flight from arrival until it is dropped (response body
/// fully handed to hyper, or the connection torn down). Also stamps the call's
/// end time.
pub(crate) struct InFlightGuard {
    pub(crate) shared: Arc<Shared>,
    keys: [String; 3],
    generation: u64,
    call_index: usize,
    pub(crate) status: Option<u16>,
}

impl InFlightGuard {
    /// Registers a new call and counts it in flight. Returns the guard, the
    /// fault chosen for this call (if any), its latency and its sequence
    /// number.
    pub(crate) fn begin(
        shared: &Arc<Shared>,
        meta: CallMeta,
    ) -> (InFlightGuard, Option<Fault>, Option<Duration>, u64) {
        let mut st = shared.lock();
        let fault = if meta.faultable {
            st.take_fault(meta.op, &meta.accounts, &meta.account)
        } else {
            None
        };
        let latency = st.latency_for(meta.op);
        st.request_seq += 1;
        let seq = st.request_seq;
        let keys = flight_keys(meta.service, &meta.region, &meta.account);
        for key in &keys {
            let flight = st.flight.entry(key.clone()).or_default();
            flight.current += 1;
            flight.max = flight.max.max(flight.current);
        }
        let call_index = st.calls.len();
        st.calls.push(Call {
            op: meta.op.to_string(),
            service: meta.service.to_string(),
            accounts: meta.accounts,
            fault,
            start: Instant::now(),
            end: None,
            authorized: meta.authorized,
            status: None,
            disable_email_notification: meta.disable_email_notification,
            region: meta.region,
            account: meta.account,
            trace_id: meta.trace_id,
        });
        let generation = st.calls_generation;
        drop(st);
        (
            InFlightGuard {
                shared: shared.clone(),
                keys,
                generation,
                call_index,
                status: None,
            },
            fault,
            latency,
            seq,
        )
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        for key in &self.keys {
            if let Some(f) = st.flight.get_mut(key) {
                f.current = f.current.saturating_sub(1);
            }
        }
        if st.calls_generation != self.generation {
            return;
        }
        if let Some(c) = st.calls.get_mut(self.call_index) {
            if c.end.is_none() {
                c.end = Some(Instant::now());
            }
            if c.status.is_none() {
                c.status = self.status;
            }
        }
    }
}
