//! Control plane under `/_emulator/` for out-of-process harnesses.

use std::collections::BTreeMap;
use std::time::Duration;

use http::Method;
use serde_json::{Value, json};

use crate::control_more;
use crate::control_wire::{CT, bad, ok, region_of};
use crate::identity::DEFAULT_REGION;
use crate::model::Fault;
use crate::reply::Reply;
use crate::state::{Shared, push_fault};
use crate::util::{parse_query, percent_decode};

pub(crate) fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Reply {
    let rest = path
        .trim_start_matches("/_emulator")
        .trim_start_matches('/');
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return bad("body is not JSON"),
        }
    };
    match (method, segs.as_slice()) {
        (&Method::GET, ["calls"]) => {
            let st = shared.lock();
            let ms = |i: std::time::Instant| {
                i.saturating_duration_since(shared.started).as_secs_f64() * 1000.0
            };
            let calls: Vec<Value> = st
                .calls
                .iter()
                .map(|c| {
                    json!({
                        "op": c.op,
                        "service": c.service,
                        "accounts": c.accounts,
                        "fault": c.fault.map(|f| f.name()),
                        "startMs": ms(c.start),
                        "endMs": c.end.map(ms),
                        "status": c.status,
                        "authorized": c.authorized,
                        "disableEmailNotification": c.disable_email_notification,
                        "region": c.region,
                        "account": c.account,
                        "traceId": c.trace_id,
                    })
                })
                .collect();
            Reply::json(200, CT, &Value::Array(calls))
        }
        (&Method::GET, ["stats"]) => {
            let st = shared.lock();
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for c in &st.calls {
                *counts.entry(c.op.as_str()).or_default() += 1;
            }
            let max: BTreeMap<&str, usize> =
                st.flight.iter().map(|(k, f)| (k.as_str(), f.max)).collect();
            Reply::json(200, CT, &json!({ "counts": counts, "maxInFlight": max }))
        }
        (&Method::POST, ["reset-calls"]) => {
            shared.lock().reset_calls();
            ok()
        }
        (&Method::POST, ["clear-faults"]) => {
            shared.lock().faults.clear();
            ok()
        }
        (&Method::POST, ["latency"]) => {
            let Some(ms) = body.get("ms").and_then(Value::as_u64) else {
                return bad("`ms` (non-negative integer) is required");
            };
            let d = Duration::from_millis(ms);
            let mut st = shared.lock();
            match body.get("op").and_then(Value::as_str) {
                Some(op) => {
                    st.latency.insert(op.to_string(), d);
                }
                None => st.default_latency = Some(d),
            }
            ok()
        }
        (&Method::POST, ["fault"]) => {
            let Some(op) = body.get("op").and_then(Value::as_str) else {
                return bad("`op` is required");
            };
            let Some(fault) = body
                .get("fault")
                .and_then(Value::as_str)
                .and_then(Fault::from_name)
            else {
                return bad(
                    "`fault` must be one of Throttle, ServerError, AccessDenied, InvalidJson, ResetMidResponse, Hang",
                );
            };
            let times = match body.get("times") {
                None | Some(Value::Null) => 1,
                Some(v) => match v.as_u64() {
                    Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
                    None => return bad("`times` must be a non-negative integer"),
                },
            };
            let account = body.get("accountId").and_then(Value::as_str);
            push_fault(shared, op, fault, times, account);
            ok()
        }
        (&Method::GET, ["org-accounts"]) => {
            let st = shared.lock();
            let ids: Vec<&str> = st.org_accounts.iter().map(|a| a.id.as_str()).collect();
            Reply::json(
                200,
                CT,
                &json!({
                    "organizationId": st.org.as_ref().map(|o| o.id.as_str()),
                    "accountIds": ids,
                }),
            )
        }
        (&Method::POST, ["members"]) => {
            let Some(detector) = body.get("detectorId").and_then(Value::as_str) else {
                return bad("`detectorId` is required");
            };
            let Some(ids) = body.get("accountIds").and_then(Value::as_array) else {
                return bad("`accountIds` (array of strings) is required");
            };
            let Some(ids) = ids.iter().map(Value::as_str).collect::<Option<Vec<&str>>>() else {
                return bad("`accountIds` must hold strings only");
            };
            let region = match region_of(&body) {
                Ok(r) => r,
                Err(e) => return e,
            };
            let status = match body.get("status") {
                None | Some(Value::Null) => "Removed",
                Some(v) => match v.as_str() {
                    Some(s) => s,
                    None => return bad("`status` must be a string"),
                },
            };
            let mut st = shared.lock();
            for id in &ids {
                let email = format!("aws+{id}@example.com");
                st.put_member_in(&region, detector, id, &email, status);
            }
            Reply::json(200, CT, &json!({ "ok": true, "members": ids.len() }))
        }
        (&Method::POST, ["member"]) => put_member(shared, &body),
        (&Method::POST, ["empty-pages"]) => {
            let Some(every) = body.get("every").and_then(Value::as_u64) else {
                return bad("`every` (non-negative integer) is required");
            };
            shared.lock().empty_every = usize::try_from(every).unwrap_or(usize::MAX);
            ok()
        }
        (&Method::GET, ["member", detector, account]) => {
            let (detector, account) = (percent_decode(detector), percent_decode(account));
            let q = parse_query(query);
            let region = q
                .iter()
                .find(|(k, _)| k == "region")
                .map_or(DEFAULT_REGION, |(_, v)| v.as_str());
            let st = shared.lock();
            match st.member_in(region, &detector, &account) {
                Some(m) => Reply::json(200, CT, &serde_json::to_value(m).unwrap_or(Value::Null)),
                None => Reply::json(404, CT, &json!({ "error": "no such member" })),
            }
        }
        _ => control_more::handle(shared, method, &segs, &body).unwrap_or_else(|| {
            Reply::json(
                404,
                CT,
                &json!({ "error": format!("unknown control-plane route {method} {path}") }),
            )
        }),
    }
}

/// `POST /_emulator/member` with `{"detectorId", "accountId", "status",
/// "email"?, "region"?}`: seeds (or overwrites) one member with any status,
/// as `Emulator::put_member_in` (e-mail defaults to `aws+<id>@example.com`).
/// Answers the member as `GET /_emulator/member/...` does.
fn put_member(shared: &Shared, body: &Value) -> Reply {
    let field = |name: &str| body.get(name).and_then(Value::as_str);
    let Some(detector) = field("detectorId").filter(|s| !s.is_empty()) else {
        return bad("`detectorId` (non-empty string) is required");
    };
    let Some(account) = field("accountId").filter(|s| !s.is_empty()) else {
        return bad("`accountId` (non-empty string) is required");
    };
    let Some(status) = field("status").filter(|s| !s.is_empty()) else {
        return bad("`status` (non-empty string) is required");
    };
    let email = match body.get("email") {
        None | Some(Value::Null) => format!("aws+{account}@example.com"),
        Some(Value::String(e)) => e.clone(),
        Some(_) => return bad("`email` must be a string"),
    };
    let region = match region_of(body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut st = shared.lock();
    st.put_member_in(&region, detector, account, &email, status);
    let m = st.member_in(&region, detector, account);
    Reply::json(200, CT, &serde_json::to_value(m).unwrap_or(Value::Null))
}
