//! Control-plane routes for Regions, member accounts, roles and invitations
//! (documented in `lib.rs`, "Control plane").

use http::Method;
use serde_json::{Value, json};

use crate::control_wire::{CT, bad, field, ok, opt_field, region_of};
use crate::model::REGION_OPT_STATUSES;
use crate::reply::Reply;
use crate::state::Shared;
use crate::util::percent_decode;

/// Handles the routes of this module; `None` for any other route.
pub(crate) fn handle(
    shared: &Shared,
    method: &Method,
    segs: &[&str],
    body: &Value,
) -> Option<Reply> {
    let reply = match (method, segs) {
        (&Method::POST, ["regions"]) => set_regions(shared, body),
        (&Method::GET, ["regions"]) => {
            let st = shared.lock();
            let regions: Vec<Value> = st
                .regions
                .list
                .iter()
                .map(|(n, s)| json!({ "regionName": n, "regionOptStatus": s }))
                .collect();
            Reply::json(
                200,
                CT,
                &json!({
                    "regions": regions,
                    "pageSize": st.regions.page_size,
                    "disabledRegions": st.regions.disabled,
                }),
            )
        }
        (&Method::POST, ["disable-region" | "enable-region"]) => {
            let region = match field(body, "region") {
                Ok(r) => r,
                Err(e) => return Some(e),
            };
            let mut st = shared.lock();
            if segs[0] == "disable-region" {
                st.regions.disabled.insert(region.to_string());
            } else {
                st.regions.disabled.remove(region);
            }
            ok()
        }
        (&Method::POST, ["detector"]) => with(|| {
            let detector = field(body, "detectorId")?;
            let region = region_of(body)?;
            shared
                .lock()
                .admin_space_mut(&region)
                .ensure_detector(detector);
            Ok(ok())
        }),
        (&Method::POST, ["member-detector"]) => with(|| {
            let account = field(body, "accountId")?;
            let region = field(body, "region")?;
            let detector = field(body, "detectorId")?;
            shared
                .lock()
                .space_mut(account, region)
                .ensure_detector(detector);
            Ok(ok())
        }),
        (&Method::GET, ["detectors", account, region]) => {
            let st = shared.lock();
            let ids = st
                .space(&percent_decode(account), &percent_decode(region))
                .map(|s| s.detectors.clone())
                .unwrap_or_default();
            Reply::json(200, CT, &json!({ "detectorIds": ids }))
        }
        (&Method::POST, ["member-role"]) => with(|| {
            let account = field(body, "accountId")?;
            let role = field(body, "role")?;
            let external = opt_field(body, "externalId")?;
            shared.lock().iam.add_role(account, role, external);
            Ok(ok())
        }),
        (&Method::POST, ["invitation"]) => with(|| {
            let account = field(body, "accountId")?;
            let region = field(body, "region")?;
            let from = field(body, "fromAccountId")?;
            let mut st = shared.lock();
            let id = match opt_field(body, "invitationId")? {
                Some(id) => id.to_string(),
                None => st.fresh_hex_id(),
            };
            st.add_invitation(account, region, from, &id);
            let inv = st
                .space(account, region)
                .and_then(|s| s.invitations.last())
                .map(|i| serde_json::to_value(i).unwrap_or(Value::Null));
            Ok(Reply::json(200, CT, &inv.unwrap_or(Value::Null)))
        }),
        (&Method::GET, ["invitations", account, region]) => {
            let st = shared.lock();
            let list = st
                .space(&percent_decode(account), &percent_decode(region))
                .map(|s| s.invitations.clone())
                .unwrap_or_default();
            Reply::json(200, CT, &serde_json::to_value(list).unwrap_or(Value::Null))
        }
        (&Method::GET, ["administrator", account, region]) => {
            let st = shared.lock();
            let admin = st
                .space(&percent_decode(account), &percent_decode(region))
                .and_then(|s| s.administrator.clone());
            Reply::json(200, CT, &json!({ "administratorId": admin }))
        }
        _ => return None,
    };
    Some(reply)
}

fn with(f: impl FnOnce() -> Result<Reply, Reply>) -> Reply {
    f().unwrap_or_else(|e| e)
}

/// `POST /_emulator/regions` with `{"regions"?: [{"regionName",
/// "regionOptStatus"}], "pageSize"?: n}` (at least one of them).
fn set_regions(shared: &Shared, body: &Value) -> Reply {
    let list = match body.get("regions") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let (Some(name), Some(status)) = (
                    item.get("regionName").and_then(Value::as_str),
                    item.get("regionOptStatus").and_then(Value::as_str),
                ) else {
                    return bad(
                        "each of `regions` needs `regionName` and `regionOptStatus` (strings)",
                    );
                };
                if !REGION_OPT_STATUSES.contains(&status) {
                    return bad(&format!(
                        "`regionOptStatus` must be one of {}",
                        REGION_OPT_STATUSES.join(", ")
                    ));
                }
                out.push((name.to_string(), status.to_string()));
            }
            Some(out)
        }
        Some(_) => return bad("`regions` must be an array"),
    };
    let page_size = match body.get("pageSize") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=50) => Some(n as usize),
            _ => return bad("`pageSize` must be an integer from 1 to 50"),
        },
    };
    if list.is_none() && page_size.is_none() {
        return bad("`regions` or `pageSize` is required");
    }
    let mut st = shared.lock();
    if let Some(list) = list {
        st.regions.list = list;
    }
    if let Some(n) = page_size {
        st.regions.page_size = n;
    }
    ok()
}
