//! One CloudWatch embedded-metric-format record per invocation and Region:
//! a JSON line on stdout that CloudWatch Logs turns into metrics, so no
//! `PutMetricData` call (nor its permission) is needed.
//!
//! The format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>.
//! A record carries `_aws` (`Timestamp` in milliseconds, `CloudWatchMetrics`:
//! the namespace, the dimension sets, the metric definitions) and, at the top
//! level, a member for each dimension and each metric it names.

use serde::Serialize;

use crate::response::Response;

pub const NAMESPACE: &str = "GuardDutyInviter";

/// The metrics of one Region, in the record's order.
pub const METRICS: [&str; 6] = [
    "Invited",
    "Enabled",
    "Skipped",
    "Unprocessed",
    "RetryableUnprocessed",
    "AwsCalls",
];

/// What one Region's record says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Invited, or would be in a dry run.
    pub invited: usize,
    pub enabled: usize,
    pub skipped: usize,
    pub unprocessed: usize,
    pub retryable_unprocessed: usize,
    /// The calls made for the Region (the first Region's record also
    /// counts the global services' calls).
    pub aws_calls: usize,
}

impl Counts {
    /// The counts of one Region's response, with `aws_calls` made for it.
    pub fn of(response: &Response, aws_calls: usize) -> Counts {
        let unprocessed = &response.unprocessed_accounts;
        Counts {
            invited: response.invited_accounts.len()
                + response.would_invite_accounts.as_ref().map_or(0, Vec::len),
            enabled: response.enabled_accounts.as_ref().map_or(0, Vec::len),
            skipped: response.skipped_accounts.len(),
            unprocessed: unprocessed.len(),
            retryable_unprocessed: unprocessed.iter().filter(|u| u.retryable).count(),
            aws_calls,
        }
    }

    /// Both counts added, field by field (the summary's totals).
    pub fn plus(&self, other: &Counts) -> Counts {
        Counts {
            invited: self.invited + other.invited,
            enabled: self.enabled + other.enabled,
            skipped: self.skipped + other.skipped,
            unprocessed: self.unprocessed + other.unprocessed,
            retryable_unprocessed: self.retryable_unprocessed + other.retryable_unprocessed,
            aws_calls: self.aws_calls + other.aws_calls,
        }
    }

    fn values(&self) -> [usize; 6] {
        [
            self.invited,
            self.enabled,
            self.skipped,
            self.unprocessed,
            self.retryable_unprocessed,
            self.aws_calls,
        ]
    }
}

#[derive(Serialize)]
struct Record<'a> {
    #[serde(rename = "_aws")]
    aws: Metadata<'a>,
    #[serde(rename = "Region")]
    region: &'a str,
    #[serde(flatten)]
    values: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata<'a> {
    timestamp: u64,
    #[serde(rename = "CloudWatchMetrics")]
    directives: [Directive<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'a str,
    dimensions: [[&'a str; 1]; 1],
    metrics: Vec<Definition<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Definition<'a> {
    name: &'a str,
    unit: &'a str,
}

/// The record of `region` at `timestamp_ms` (milliseconds since the Unix
/// epoch), as one JSON line.
pub fn record(region: &str, counts: &Counts, timestamp_ms: u64) -> String {
    let values = METRICS
        .iter()
        .zip(counts.values())
        .map(|(name, value)| ((*name).to_owned(), value.into()))
        .collect();
    let record = Record {
        aws: Metadata {
            timestamp: timestamp_ms,
            directives: [Directive {
                namespace: NAMESPACE,
                dimensions: [["Region"]],
                metrics: METRICS
                    .iter()
                    .map(|name| Definition {
                        name,
                        unit: "Count",
                    })
                    .collect(),
            }],
        },
        region,
        values,
    };
    serde_json::to_string(&record).unwrap_or_default()
}

/// Writes each record as its own line on stdout, where Lambda sends it to
/// CloudWatch Logs: one `print!`, which holds stdout's lock for the whole
/// text, so no log line cuts into a record (and tests capture it).
pub fn emit(records: &[String]) {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    print!("{text}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The EMF specification's required fields, checked on the record.
    #[test]
    fn a_record_has_what_the_emf_specification_requires() {
        let counts = Counts {
            invited: 3,
            enabled: 1,
            skipped: 2,
            unprocessed: 4,
            retryable_unprocessed: 1,
            aws_calls: 9,
        };
        let line = record("eu-west-1", &counts, 1_765_000_000_000);
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_765_000_000_000u64);
        let directives = v["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1);
        let d = &directives[0];
        assert_eq!(d["Namespace"], NAMESPACE);
        let dimension_sets = d["Dimensions"].as_array().unwrap();
        for set in dimension_sets {
            for dimension in set.as_array().unwrap() {
                // Every dimension is a string member of the record.
                assert!(v[dimension.as_str().unwrap()].is_string());
            }
        }
        assert_eq!(v["Region"], "eu-west-1");
        let names: Vec<&str> = d["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                assert_eq!(m["Unit"], "Count");
                m["Name"].as_str().unwrap()
            })
            .collect();
        assert_eq!(names, METRICS);
        let values: Vec<u64> = names.iter().map(|n| v[n].as_u64().unwrap()).collect();
        assert_eq!(values, [3, 1, 2, 4, 1, 9]);
    }
}
