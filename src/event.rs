//! Parsing of every event shape SPEC.md accepts into one [`Request`].
//!
//! Pure: a `serde_json::Value` in, a `Request` or an `InvalidEvent` message
//! out. Per-account problems (a bad ID, a bad e-mail) are *not* errors here:
//! they are carried to the response as unprocessed accounts, so the caller
//! learns about every account it named.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::regions::Regions;
use crate::validate::check_detector_id;

/// What an event asks for, with duplicates merged in first-seen order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    pub accounts: Vec<Named>,
    pub detector_id: Option<String>,
    pub message: Option<String>,
    pub disable_email_notification: Option<bool>,
    pub dry_run: bool,
    /// Where to work, if the event says.
    pub regions: Option<Regions>,
}

/// One distinct account ID as the event named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub account_id: String,
    pub email: Email,
}

/// The e-mail that goes with an account, if it came through `accounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Email {
    /// Named only in `accountIds` / `accountId`: invite it as it is.
    NotGiven,
    /// An `accounts` item without an e-mail.
    Missing,
    Given(String),
}

/// Parses any accepted event shape. `max_accounts` bounds the number of
/// distinct account IDs, valid or not.
pub fn parse(event: &Value, max_accounts: usize) -> Result<Request, String> {
    match event {
        Value::Array(items) => {
            let mut collector = Collector::new(max_accounts);
            for (i, item) in items.iter().enumerate() {
                let Value::String(id) = item else {
                    return Err(format!(
                        "the event is a JSON array, so it must hold account ID strings only; item {i} is {}",
                        kind(item)
                    ));
                };
                collector.add(id, Email::NotGiven)?;
            }
            collector.finish(Request::default())
        }
        Value::Object(fields) if is_eventbridge(fields) => {
            let envelope: aws_lambda_events::event::eventbridge::EventBridgeEvent<Value> =
                serde_json::from_value(event.clone()).map_err(|e| {
                    format!(
                        "not a valid EventBridge event: {}",
                        without_strings(&e.to_string())
                    )
                })?;
            match &envelope.detail {
                Value::Object(detail) => parse_request(detail, max_accounts)
                    .map_err(|e| format!("EventBridge detail: {e}")),
                other => Err(format!(
                    "the EventBridge event's detail must be an invitation request object, not {}",
                    kind(other)
                )),
            }
        }
        Value::Object(fields) => parse_request(fields, max_accounts),
        other => Err(format!(
            "the event must be an invitation request object, an array of account IDs or an EventBridge event, not {}",
            kind(other)
        )),
    }
}

/// An EventBridge envelope carries `detail` beside `detail-type` or `source`;
/// a request object has none of these.
fn is_eventbridge(fields: &Map<String, Value>) -> bool {
    fields.contains_key("detail")
        && (fields.contains_key("detail-type") || fields.contains_key("source"))
}

fn parse_request(fields: &Map<String, Value>, max_accounts: usize) -> Result<Request, String> {
    let mut collector = Collector::new(max_accounts);
    if let Some(ids) = field(fields, "accountIds", "AccountIds")? {
        let Value::Array(ids) = ids else {
            return Err(format!(
                "accountIds must be an array of account ID strings, not {}",
                kind(ids)
            ));
        };
        for (i, id) in ids.iter().enumerate() {
            let Value::String(id) = id else {
                return Err(format!(
                    "accountIds[{i}] must be an account ID string, not {}",
                    kind(id)
                ));
            };
            collector.add(id, Email::NotGiven)?;
        }
    }
    if let Some(id) = field(fields, "accountId", "AccountId")? {
        let Value::String(id) = id else {
            return Err(format!(
                "accountId must be an account ID string, not {}",
                kind(id)
            ));
        };
        collector.add(id, Email::NotGiven)?;
    }
    if let Some(items) = field(fields, "accounts", "AccountDetails")? {
        let Value::Array(items) = items else {
            return Err(format!(
                "accounts must be an array of {{\"accountId\", \"email\"}} objects, not {}",
                kind(items)
            ));
        };
        for (i, item) in items.iter().enumerate() {
            let Value::Object(item) = item else {
                return Err(format!(
                    "accounts[{i}] must be an object with accountId and email, not {}",
                    kind(item)
                ));
            };
            let id = match field(item, "accountId", "AccountId")
                .map_err(|e| format!("accounts[{i}]: {e}"))?
            {
                Some(Value::String(id)) => id,
                Some(other) => {
                    return Err(format!(
                        "accounts[{i}].accountId must be an account ID string, not {}",
                        kind(other)
                    ));
                }
                None => return Err(format!("accounts[{i}] has no accountId")),
            };
            let email =
                match field(item, "email", "Email").map_err(|e| format!("accounts[{i}]: {e}"))? {
                    Some(Value::String(email)) => Email::Given(email.clone()),
                    Some(other) => {
                        return Err(format!(
                            "accounts[{i}].email must be a string, not {}",
                            kind(other)
                        ));
                    }
                    None => Email::Missing,
                };
            collector.add(id, email)?;
        }
    }

    let mut request = Request::default();
    if let Some(id) = string_field(fields, "detectorId", "DetectorId")? {
        check_detector_id(&id).map_err(|e| format!("detectorId: {e}"))?;
        request.detector_id = Some(id);
    }
    request.message = string_field(fields, "message", "Message")?;
    request.disable_email_notification = bool_field(
        fields,
        "disableEmailNotification",
        "DisableEmailNotification",
    )?;
    request.dry_run = bool_field(fields, "dryRun", "DryRun")?.unwrap_or(false);
    request.regions = regions_field(fields)?;
    if request.detector_id.is_some()
        && request
            .regions
            .as_ref()
            .is_some_and(|r| r.count() != Some(1))
    {
        return Err("detectorId names the detector of one Region, but regions names more (or all): leave detectorId out, or name one Region".into());
    }
    collector.finish(request)
}

/// `regions`: an array of distinct Region names, or the string `"all"`.
fn regions_field(fields: &Map<String, Value>) -> Result<Option<Regions>, String> {
    let expected =
        "regions must be a non-empty array of distinct Region names or the string \"all\"";
    match field(fields, "regions", "Regions")? {
        None => Ok(None),
        Some(Value::String(all)) if all == "all" => Ok(Some(Regions::All)),
        Some(Value::Array(items)) => {
            let mut names = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let Value::String(name) = item else {
                    return Err(format!(
                        "regions[{i}] must be a Region name string, not {}",
                        kind(item)
                    ));
                };
                names.push(name.as_str());
            }
            Regions::named(&names)
                .map(Some)
                .map_err(|e| format!("{expected}: {e}"))
        }
        Some(Value::String(_)) => Err(format!("{expected}, not another string")),
        Some(other) => Err(format!("{expected}, not {}", kind(other))),
    }
}

/// The value of a field under either of its spellings. `null` counts as
/// absent; both spellings at once is ambiguous.
fn field<'a>(
    fields: &'a Map<String, Value>,
    camel: &str,
    pascal: &str,
) -> Result<Option<&'a Value>, String> {
    let present = |name: &str| fields.get(name).filter(|v| !v.is_null());
    match (present(camel), present(pascal)) {
        (Some(_), Some(_)) => Err(format!(
            "both {camel} and {pascal} are set: the event is ambiguous, use one spelling"
        )),
        (a, b) => Ok(a.or(b)),
    }
}

fn string_field(
    fields: &Map<String, Value>,
    camel: &str,
    pascal: &str,
) -> Result<Option<String>, String> {
    match field(fields, camel, pascal)? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{camel} must be a string, not {}", kind(other))),
    }
}

fn bool_field(
    fields: &Map<String, Value>,
    camel: &str,
    pascal: &str,
) -> Result<Option<bool>, String> {
    match field(fields, camel, pascal)? {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(format!(
            "{camel} must be true or false, not {}",
            kind(other)
        )),
    }
}

/// serde quotes the offending value in its messages; the value may be
/// personal data (an e-mail in the wrong field), so it is left out.
fn without_strings(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match (c, quoted) {
            ('"', false) => {
                quoted = true;
                out.push_str("\"…");
            }
            ('"', true) => {
                quoted = false;
                out.push('"');
            }
            (c, false) => out.push(c),
            (_, true) => {}
        }
    }
    out
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Merges duplicates while keeping first-seen order; the first `accounts` item
/// naming an ID decides its e-mail.
struct Collector {
    max: usize,
    accounts: Vec<Named>,
    index: HashMap<String, usize>,
}

impl Collector {
    fn new(max: usize) -> Self {
        Collector {
            max,
            accounts: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn add(&mut self, id: &str, email: Email) -> Result<(), String> {
        if let Some(&at) = self.index.get(id) {
            let named = &mut self.accounts[at];
            if named.email == Email::NotGiven {
                named.email = email;
            }
            return Ok(());
        }
        if self.accounts.len() == self.max {
            return Err(format!(
                "the event names more than {} distinct account IDs (MAX_ACCOUNTS_PER_EVENT); split it into smaller events",
                self.max
            ));
        }
        self.index.insert(id.to_owned(), self.accounts.len());
        self.accounts.push(Named {
            account_id: id.to_owned(),
            email,
        });
        Ok(())
    }

    fn finish(self, mut request: Request) -> Result<Request, String> {
        if self.accounts.is_empty() {
            return Err(
                "no account named: give accountIds, accountId or accounts (or a non-empty array of account IDs)"
                    .into(),
            );
        }
        request.accounts = self.accounts;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(r: &Request) -> Vec<&str> {
        r.accounts.iter().map(|a| a.account_id.as_str()).collect()
    }

    #[test]
    fn direct_request_reads_all_fields() {
        let r = parse(
            &json!({
                "accountIds": ["111111111111", "222222222222"],
                "accounts": [{"accountId": "333333333333", "email": "sec@example.com"}],
                "detectorId": "12abc34d567e8fa901bc2d34e56789f0",
                "message": "hello",
                "disableEmailNotification": true,
                "dryRun": true,
                "somethingElse": {"ignored": [1, 2]}
            }),
            1000,
        )
        .unwrap();
        assert_eq!(ids(&r), ["111111111111", "222222222222", "333333333333"]);
        assert_eq!(r.accounts[2].email, Email::Given("sec@example.com".into()));
        assert_eq!(r.accounts[0].email, Email::NotGiven);
        assert_eq!(
            r.detector_id.as_deref(),
            Some("12abc34d567e8fa901bc2d34e56789f0")
        );
        assert_eq!(r.message.as_deref(), Some("hello"));
        assert_eq!(r.disable_email_notification, Some(true));
        assert!(r.dry_run);
    }

    #[test]
    fn boto3_spellings_are_accepted() {
        let r = parse(
            &json!({
                "AccountIds": ["111111111111"],
                "AccountDetails": [{"AccountId": "333333333333", "Email": "a@b.c"}],
                "DetectorId": "abc",
                "Message": "m",
                "DisableEmailNotification": false,
                "DryRun": true
            }),
            1000,
        )
        .unwrap();
        assert_eq!(ids(&r), ["111111111111", "333333333333"]);
        assert_eq!(r.accounts[1].email, Email::Given("a@b.c".into()));
        assert_eq!(r.detector_id.as_deref(), Some("abc"));
        assert_eq!(r.disable_email_notification, Some(false));
        assert!(r.dry_run);
    }

    #[test]
    fn both_spellings_of_one_field_are_ambiguous() {
        for event in [
            json!({"accountIds": ["111111111111"], "AccountIds": ["111111111111"]}),
            json!({"accountIds": ["111111111111"], "dryRun": true, "DryRun": true}),
            json!({"accounts": [{"accountId": "111111111111", "AccountId": "111111111111", "email": "a@b"}]}),
        ] {
            let e = parse(&event, 1000).unwrap_err();
            assert!(e.contains("ambiguous"), "{e}");
        }
    }

    #[test]
    fn null_counts_as_absent() {
        let r = parse(
            &json!({"accountIds": null, "AccountIds": ["111111111111"], "dryRun": null, "message": null}),
            1000,
        )
        .unwrap();
        assert_eq!(ids(&r), ["111111111111"]);
        assert!(!r.dry_run);
        assert_eq!(r.message, None);
        let r = parse(
            &json!({"accounts": [{"accountId": "111111111111", "email": null}]}),
            1000,
        )
        .unwrap();
        assert_eq!(r.accounts[0].email, Email::Missing);
    }

    #[test]
    fn order_is_account_ids_then_account_id_then_accounts_and_duplicates_merge() {
        let r = parse(
            &json!({
                "accounts": [
                    {"accountId": "333333333333", "email": "x@y"},
                    {"accountId": "111111111111", "email": "first@y"},
                    {"accountId": "111111111111", "email": "second@y"}
                ],
                "accountId": "222222222222",
                "accountIds": ["111111111111", "444444444444", "111111111111"]
            }),
            1000,
        )
        .unwrap();
        assert_eq!(
            ids(&r),
            [
                "111111111111",
                "444444444444",
                "222222222222",
                "333333333333"
            ]
        );
        // The e-mail comes from the first `accounts` item naming the ID.
        assert_eq!(r.accounts[0].email, Email::Given("first@y".into()));
    }

    #[test]
    fn bare_array_is_a_list_of_ids() {
        let r = parse(&json!(["111111111111", "bad", "111111111111"]), 1000).unwrap();
        assert_eq!(ids(&r), ["111111111111", "bad"]);
        let e = parse(&json!(["111111111111", 111111111111u64]), 1000).unwrap_err();
        assert!(e.contains("item 1"), "{e}");
        assert!(parse(&json!([]), 1000).unwrap_err().contains("no account"));
    }

    #[test]
    fn eventbridge_envelope_unwraps_detail() {
        let r = parse(
            &json!({
                "version": "0", "id": "x", "detail-type": "Invite GuardDuty members",
                "source": "custom.security", "account": "999999999999",
                "time": "2026-11-22T00:00:00Z", "region": "us-east-1", "resources": [],
                "detail": {"accountIds": ["111111111111"], "dryRun": true}
            }),
            1000,
        )
        .unwrap();
        assert_eq!(ids(&r), ["111111111111"]);
        assert!(r.dry_run);
        let e = parse(
            &json!({"detail-type": "x", "source": "y", "detail": ["111111111111"]}),
            1000,
        )
        .unwrap_err();
        assert!(e.contains("detail"), "{e}");
        let e = parse(&json!({"detail-type": "x", "detail": {}}), 1000).unwrap_err();
        assert!(e.contains("EventBridge"), "{e}");
        let e = parse(
            &json!({"detail-type": "x", "source": "y", "resources": "a@example.com", "detail": {}}),
            1000,
        )
        .unwrap_err();
        assert!(
            e.contains("EventBridge") && !e.contains("example.com"),
            "{e}"
        );
    }

    #[test]
    fn wrong_types_are_invalid_events() {
        for event in [
            json!({"accountIds": "111111111111"}),
            json!({"accountIds": [111111111111u64]}),
            json!({"accountId": 5}),
            json!({"accounts": {"accountId": "111111111111"}}),
            json!({"accounts": ["111111111111"]}),
            json!({"accounts": [{"email": "a@b"}]}),
            json!({"accounts": [{"accountId": "111111111111", "email": 5}]}),
            json!({"accountIds": ["111111111111"], "dryRun": "yes"}),
            json!({"accountIds": ["111111111111"], "message": 1}),
            json!({"accountIds": ["111111111111"], "detectorId": ""}),
            json!({"accountIds": ["111111111111"], "detectorId": "a/b"}),
            json!({"accountIds": ["111111111111"], "disableEmailNotification": 1}),
            json!("111111111111"),
            json!(null),
            json!(42),
            json!({}),
            json!({"accountIds": []}),
        ] {
            assert!(parse(&event, 1000).is_err(), "{event}");
        }
    }

    #[test]
    fn regions_are_a_list_or_all() {
        let r = parse(
            &json!({"accountId": "111111111111", "regions": ["eu-west-1", "us-east-1"]}),
            10,
        )
        .unwrap();
        assert_eq!(
            r.regions,
            Some(Regions::Named(vec!["eu-west-1".into(), "us-east-1".into()]))
        );
        let r = parse(&json!({"accountId": "111111111111", "Regions": "all"}), 10).unwrap();
        assert_eq!(r.regions, Some(Regions::All));
        let r = parse(&json!({"accountId": "111111111111", "regions": null}), 10).unwrap();
        assert_eq!(r.regions, None);
        let one =
            json!({"accountId": "111111111111", "regions": ["eu-west-1"], "detectorId": "d1"});
        assert_eq!(parse(&one, 10).unwrap().detector_id.as_deref(), Some("d1"));
        for bad in [
            json!({"accountId": "111111111111", "regions": []}),
            json!({"accountId": "111111111111", "regions": ["eu-west-1", "eu-west-1"]}),
            json!({"accountId": "111111111111", "regions": ["EU-WEST-1"]}),
            json!({"accountId": "111111111111", "regions": [1]}),
            json!({"accountId": "111111111111", "regions": "eu-west-1"}),
            json!({"accountId": "111111111111", "regions": "ALL"}),
            json!({"accountId": "111111111111", "regions": {"all": true}}),
            json!({"accountId": "111111111111", "regions": ["a", "b"], "detectorId": "d1"}),
            json!({"accountId": "111111111111", "regions": "all", "detectorId": "d1"}),
            json!({"accountId": "111111111111", "regions": ["a"], "Regions": ["b"]}),
        ] {
            assert!(parse(&bad, 10).is_err(), "{bad}");
        }
    }

    #[test]
    fn distinct_ids_are_bounded_valid_or_not() {
        let event = json!(["1", "2", "3", "1", "2"]);
        assert!(parse(&event, 3).is_ok());
        let e = parse(&json!(["1", "2", "3", "4"]), 3).unwrap_err();
        assert!(e.contains("MAX_ACCOUNTS_PER_EVENT"), "{e}");
    }
}
