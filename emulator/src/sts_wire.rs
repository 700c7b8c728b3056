//! STS wire helpers (awsQuery): XML answers, `ErrorResponse` errors and the
//! ValidationError texts of AWS's input validation.

use crate::reply::Reply;

const CT: &str = "text/xml";
const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Escapes XML character data (quotes need no escaping there).
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn xml(status: u16, body: String) -> Reply {
    Reply {
        status,
        headers: vec![("content-type", CT.to_string())],
        body: body.into(),
    }
}

/// `<{op}Response><{op}Result>{result}</{op}Result><ResponseMetadata>…`.
pub(crate) fn ok(op: &str, result: &str, request_id: &str) -> Reply {
    xml(
        200,
        format!(
            "<{op}Response xmlns=\"{NS}\">\n  <{op}Result>\n{result}  </{op}Result>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</{op}Response>\n"
        ),
    )
}

/// An `ErrorResponse` (the awsQuery error shape STS answers, with `Type`
/// `Sender` for 4xx and `Receiver` for 5xx).
pub(crate) fn error(status: u16, code: &str, message: &str, request_id: &str) -> Reply {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    xml(
        status,
        format!(
            "<ErrorResponse xmlns=\"{NS}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
            esc(message)
        ),
    )
}

/// AWS's input validation (`ValidationError`, 400): collects the failed
/// constraints of one request, worded as AWS words them ("1 validation error
/// detected: Value 'x' at 'roleSessionName' failed to satisfy constraint:
/// Member must …"; seen for AssumeRole in zalando-stups/aws-credentials-service
/// #7, getmoto/moto #9218, consigliere #18).
#[derive(Debug, Default)]
pub(crate) struct Validation(Vec<String>);

impl Validation {
    pub(crate) fn null(&mut self, field: &str) {
        self.0.push(format!(
            "Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ));
    }

    fn fail(&mut self, value: &str, field: &str, constraint: &str) {
        self.0.push(format!(
            "Value '{value}' at '{field}' failed to satisfy constraint: Member must {constraint}"
        ));
    }

    /// Length (in characters) and, when given, a pattern of allowed
    /// characters: word characters plus `extra`.
    pub(crate) fn string(
        &mut self,
        value: &str,
        field: &str,
        (min, max): (usize, usize),
        pattern: Option<(&str, &str)>,
    ) {
        if let Some((shown, extra)) = pattern {
            let ok = value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c));
            if !ok {
                self.fail(
                    value,
                    field,
                    &format!("satisfy regular expression pattern: {shown}"),
                );
            }
        }
        let n = value.chars().count();
        if n < min {
            self.fail(
                value,
                field,
                &format!("have length greater than or equal to {min}"),
            );
        }
        if n > max {
            self.fail(
                value,
                field,
                &format!("have length less than or equal to {max}"),
            );
        }
    }

    pub(crate) fn int(&mut self, value: i64, field: &str, (min, max): (i64, i64)) {
        let shown = value.to_string();
        if value < min {
            self.fail(
                &shown,
                field,
                &format!("have value greater than or equal to {min}"),
            );
        }
        if value > max {
            self.fail(
                &shown,
                field,
                &format!("have value less than or equal to {max}"),
            );
        }
    }

    /// The `ValidationError` for what failed, if anything did.
    pub(crate) fn into_error(self, request_id: &str) -> Option<Reply> {
        let n = self.0.len();
        if n == 0 {
            return None;
        }
        let plural = if n == 1 { "error" } else { "errors" };
        let message = format!("{n} validation {plural} detected: {}", self.0.join("; "));
        Some(error(400, "ValidationError", &message, request_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_wording() {
        let mut v = Validation::default();
        v.string(
            "a:b",
            "roleSessionName",
            (2, 64),
            Some(("[\\w+=,.@-]*", "+=,.@-")),
        );
        let r = v.into_error("rid").unwrap();
        let body = String::from_utf8(r.body.to_vec()).unwrap();
        assert!(body.contains("<Code>ValidationError</Code>"), "{body}");
        assert!(body.contains("1 validation error detected: Value 'a:b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"), "{body}");
        assert!(Validation::default().into_error("rid").is_none());
        assert_eq!(esc("a<&>'\""), "a&lt;&amp;&gt;'\"");
    }
}
