//! Helpers shared by the control-plane routes.

use serde_json::{Value, json};

use crate::identity::DEFAULT_REGION;
use crate::reply::Reply;

pub(crate) const CT: &str = "application/json";

pub(crate) fn bad(msg: &str) -> Reply {
    Reply::json(400, CT, &json!({ "error": msg }))
}

pub(crate) fn ok() -> Reply {
    Reply::json(200, CT, &json!({ "ok": true }))
}

/// The optional `"region"` field of a body (default `us-east-1`).
pub(crate) fn region_of(body: &Value) -> Result<String, Reply> {
    match body.get("region") {
        None | Some(Value::Null) => Ok(DEFAULT_REGION.to_string()),
        Some(Value::String(r)) if !r.is_empty() => Ok(r.clone()),
        Some(_) => Err(bad("`region` must be a non-empty string")),
    }
}

/// A required non-empty string field of a body.
pub(crate) fn field<'a>(body: &'a Value, name: &str) -> Result<&'a str, Reply> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(&format!("`{name}` (non-empty string) is required")))
}

/// An optional string field (`null` or absent: `None`).
pub(crate) fn opt_field<'a>(body: &'a Value, name: &str) -> Result<Option<&'a str>, Reply> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(&format!("`{name}` must be a string"))),
    }
}
