//! The response an operation handler produces, before the server shapes it
//! (faults, request IDs) and sends it.

use bytes::Bytes;

/// A response produced by an operation handler, before fault shaping.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn json(status: u16, content_type: &str, value: &serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", content_type.to_string())],
            body: Bytes::from(serde_json::to_vec(value).unwrap_or_default()),
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}
