//! GuardDuty (restJson1): routing and dispatch, ListDetectors.
//!
//! Every operation works on the acting account's state in the Region the
//! request was signed for (`Caller`).

use http::Method;
use serde_json::Value;

use crate::gd_wire::{CT, bad_request, page, parse_body};
use crate::identity::Caller;
use crate::reply::Reply;
use crate::state::State;
use crate::util::percent_decode;
use crate::{invitations, members};

pub(crate) use crate::gd_wire::{
    fault_reply, region_refused, unknown_operation, unrecognized_client,
};

/// A routed GuardDuty request.
#[derive(Debug, Clone)]
pub(crate) struct GdRoute {
    pub(crate) op: &'static str,
    pub(crate) detector: Option<String>,
}

/// Whether `path` is one of GuardDuty's.
pub(crate) fn owns_path(path: &str) -> bool {
    path == "/detector" || path.starts_with("/detector/") || path == "/invitation"
}

pub(crate) fn route(method: &Method, path: &str) -> Option<GdRoute> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let detector = segs.get(1).map(|s| percent_decode(s));
    let op = match (method, segs.as_slice()) {
        (&Method::GET, ["detector"]) => "ListDetectors",
        (&Method::POST, ["detector"]) => "CreateDetector",
        (&Method::GET, ["invitation"]) => "ListInvitations",
        (&Method::POST, ["detector", _, "administrator"]) => "AcceptAdministratorInvitation",
        (&Method::POST, ["detector", _, "member", "get"]) => "GetMembers",
        (&Method::POST, ["detector", _, "member"]) => "CreateMembers",
        (&Method::POST, ["detector", _, "member", "invite"]) => "InviteMembers",
        (&Method::POST, ["detector", _, "member", "delete"]) => "DeleteMembers",
        _ => return None,
    };
    Some(GdRoute { op, detector })
}

/// `disableEmailNotification` of an InviteMembers request (for recording);
/// `None` for other operations or when the request does not say.
pub(crate) fn disable_email_notification_in(op: &str, body: Option<&Value>) -> Option<bool> {
    match op {
        "InviteMembers" => body?.get("disableEmailNotification")?.as_bool(),
        _ => None,
    }
}

/// Account IDs named by a request (for recording and per-account faults).
pub(crate) fn accounts_in(op: &str, body: Option<&Value>) -> Vec<String> {
    let Some(body) = body else { return Vec::new() };
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    match op {
        "GetMembers" | "InviteMembers" | "DeleteMembers" => strings(body.get("accountIds")),
        "CreateMembers" => body
            .get("accountDetails")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.get("accountId").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        "AcceptAdministratorInvitation" => body
            .get("administratorId")
            .and_then(Value::as_str)
            .map(|a| vec![a.to_string()])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

pub(crate) fn execute(
    st: &mut State,
    caller: &Caller,
    route: &GdRoute,
    query: Option<&str>,
    body: &[u8],
) -> Reply {
    match exec_inner(st, caller, route, query, body) {
        Ok(v) => Reply::json(200, CT, &v),
        Err(r) => r,
    }
}

fn exec_inner(
    st: &mut State,
    caller: &Caller,
    route: &GdRoute,
    query: Option<&str>,
    body: &[u8],
) -> Result<Value, Reply> {
    match route.op {
        "ListDetectors" => return list_detectors(st, caller, query),
        "ListInvitations" => return invitations::list_invitations(st, caller, query),
        "CreateDetector" => return invitations::create_detector(st, caller),
        _ => {}
    }
    let detector = route.detector.clone().unwrap_or_default();
    let dlen = detector.chars().count();
    if !(1..=300).contains(&dlen) {
        return Err(bad_request(
            "The request is rejected because an invalid or out-of-range value is specified as an input parameter: detectorId must be 1 to 300 characters.",
        ));
    }
    let body = parse_body(body)?;
    match route.op {
        "GetMembers" => members::get_members(st, caller, &detector, &body),
        "CreateMembers" => members::create_members(st, caller, &detector, &body),
        "InviteMembers" => members::invite_members(st, caller, &detector, &body),
        "DeleteMembers" => members::delete_members(st, caller, &detector, &body),
        "AcceptAdministratorInvitation" => invitations::accept(st, caller, &detector, &body),
        _ => Err(bad_request("Unsupported operation.")),
    }
}

fn list_detectors(st: &State, caller: &Caller, query: Option<&str>) -> Result<Value, Reply> {
    let space = st.space(&caller.account, &caller.region);
    let all = space.map_or(&[][..], |s| &s.detectors[..]);
    page(all, query, "detectorIds", "det")
}
