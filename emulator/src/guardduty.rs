//! GuardDuty (restJson1): routing and dispatch, ListDetectors.

use http::Method;
use serde_json::{Value, json};

use crate::gd_wire::{CT, bad_request, parse_body};
use crate::members;
use crate::reply::Reply;
use crate::state::State;
use crate::util::{parse_query, percent_decode};

pub(crate) use crate::gd_wire::{fault_reply, unknown_operation, unrecognized_client};

/// A routed GuardDuty request.
#[derive(Debug, Clone)]
pub(crate) struct GdRoute {
    pub(crate) op: &'static str,
    pub(crate) detector: Option<String>,
}

pub(crate) fn route(method: &Method, path: &str) -> Option<GdRoute> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let detector = segs.get(1).map(|s| percent_decode(s));
    let op = match (method, segs.as_slice()) {
        (&Method::GET, ["detector"]) => "ListDetectors",
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
        _ => Vec::new(),
    }
}

pub(crate) fn execute(st: &mut State, route: &GdRoute, query: Option<&str>, body: &[u8]) -> Reply {
    match exec_inner(st, route, query, body) {
        Ok(v) => Reply::json(200, CT, &v),
        Err(r) => r,
    }
}

fn exec_inner(
    st: &mut State,
    route: &GdRoute,
    query: Option<&str>,
    body: &[u8],
) -> Result<Value, Reply> {
    if route.op == "ListDetectors" {
        return list_detectors(st, query);
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
        "GetMembers" => members::get_members(st, &detector, &body),
        "CreateMembers" => members::create_members(st, &detector, &body),
        "InviteMembers" => members::invite_members(st, &detector, &body),
        "DeleteMembers" => members::delete_members(st, &detector, &body),
        _ => Err(bad_request("Unsupported operation.")),
    }
}

fn list_detectors(st: &State, query: Option<&str>) -> Result<Value, Reply> {
    let q = parse_query(query);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let max = match get("maxResults") {
        None => 50,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=50).contains(&n) => n,
            _ => {
                return Err(bad_request(
                    "The request is rejected because an invalid or out-of-range value is specified as an input parameter: maxResults must be between 1 and 50.",
                ));
            }
        },
    };
    let start = match get("nextToken") {
        None | Some("") => 0,
        Some(t) => t
            .strip_prefix("det-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n <= st.detectors.len())
            .ok_or_else(|| {
                bad_request("The request is rejected because the nextToken is invalid.")
            })?,
    };
    let end = (start + max).min(st.detectors.len());
    let mut v = json!({ "detectorIds": st.detectors[start..end] });
    if end < st.detectors.len() {
        v["nextToken"] = json!(format!("det-{end}"));
    }
    Ok(v)
}
