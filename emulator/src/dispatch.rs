//! Which service and operation a request is for, and the per-service
//! answers: execution, injected faults, unsigned requests.
//!
//! The path or `X-Amz-Target` decides where they can (`/detector…` and
//! `/invitation`: GuardDuty; `/listRegions`: AWS Account; any
//! `X-Amz-Target`: Organizations); otherwise the service of the SigV4
//! credential scope (`sts`, `account`, `organizations`, `guardduty`), and for
//! an unsigned `POST /` a form body with an `Action` (STS).

use http::Method;
use serde_json::{Value, json};

use crate::guardduty::{self, GdRoute};
use crate::identity::{Caller, Scope};
use crate::model::Fault;
use crate::reply::Reply;
use crate::state::State;
use crate::{account, organizations, sts};

/// Which service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    GuardDuty,
    Organizations,
    Account,
    Sts,
    Unknown,
}

impl Service {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Service::GuardDuty => "guardduty",
            Service::Organizations => "organizations",
            Service::Account => "account",
            Service::Sts => "sts",
            Service::Unknown => "unknown",
        }
    }
}

/// A request's service and operation.
#[derive(Debug, Clone)]
pub(crate) struct Routed {
    pub(crate) service: Service,
    pub(crate) op: &'static str,
    pub(crate) gd: Option<GdRoute>,
}

pub(crate) fn route(
    method: &Method,
    path: &str,
    target: Option<&str>,
    scope: Option<&Scope>,
    body: &[u8],
) -> Routed {
    let service = if guardduty::owns_path(path) {
        Service::GuardDuty
    } else if account::owns_path(path) {
        Service::Account
    } else if target.is_some() {
        Service::Organizations
    } else {
        match scope.map(|s| s.service.as_str()) {
            Some("sts") => Service::Sts,
            Some("account") => Service::Account,
            Some("organizations") => Service::Organizations,
            Some("guardduty") => Service::GuardDuty,
            _ if path == "/" && sts::is_query(body) => Service::Sts,
            _ => Service::Unknown,
        }
    };
    let gd = (service == Service::GuardDuty)
        .then(|| guardduty::route(method, path))
        .flatten();
    let op = match service {
        Service::GuardDuty => gd.as_ref().map_or("Unknown", |r| r.op),
        Service::Organizations => target.map_or("Unknown", organizations::op_name),
        Service::Account => account::op_name(path),
        Service::Sts => sts::op_name(body),
        Service::Unknown => "Unknown",
    };
    Routed { service, op, gd }
}

/// Account IDs a request names (for recording and per-account faults).
pub(crate) fn accounts_in(r: &Routed, json: Option<&Value>, body: &[u8]) -> Vec<String> {
    match r.service {
        Service::GuardDuty => guardduty::accounts_in(r.op, json),
        Service::Organizations => organizations::accounts_in(r.op, json),
        Service::Sts => sts::accounts_in(r.op, body),
        Service::Account | Service::Unknown => Vec::new(),
    }
}

/// The answer to a request without a SigV4 `Authorization` header.
pub(crate) fn unsigned(service: Service, request_id: &str) -> Reply {
    match service {
        Service::Organizations => organizations::unrecognized_client(),
        Service::Sts => sts::unsigned(request_id),
        _ => guardduty::unrecognized_client(),
    }
}

/// The answer that replaces the operation for `Throttle`, `ServerError` and
/// `AccessDenied`.
pub(crate) fn fault_reply(
    r: &Routed,
    fault: Fault,
    caller: &Caller,
    body: &[u8],
    request_id: &str,
) -> Reply {
    match r.service {
        Service::Organizations => organizations::fault_reply(fault),
        Service::Account => account::fault_reply(fault, caller),
        Service::Sts => sts::fault_reply(fault, caller, r.op, body, request_id),
        _ => guardduty::fault_reply(fault),
    }
}

/// Runs the operation.
#[allow(clippy::too_many_arguments)]
pub(crate) fn execute(
    st: &mut State,
    r: &Routed,
    caller: &Caller,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    request_id: &str,
) -> Reply {
    match r.service {
        Service::GuardDuty => match &r.gd {
            Some(route) => guardduty::execute(st, caller, route, query, body),
            None => guardduty::unknown_operation(method, path),
        },
        Service::Organizations => organizations::execute(st, r.op, body),
        Service::Account => account::execute(st, r.op, body),
        Service::Sts => sts::execute(st, caller, body, request_id),
        Service::Unknown => Reply::json(
            404,
            "application/json",
            &json!({
                "__type": "UnknownOperationException",
                "message": format!("No operation matches {method} {path}"),
            }),
        )
        .header("x-amzn-ErrorType", "UnknownOperationException"),
    }
}
