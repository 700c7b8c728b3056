//! Logs through `tracing`, under Lambda's log controls:
//! `AWS_LAMBDA_LOG_FORMAT=JSON` for JSON lines, `AWS_LAMBDA_LOG_LEVEL` (or
//! `RUST_LOG`) for the level.

use lambda_runtime::tracing::subscriber::{self, EnvFilter, filter::LevelFilter};

/// Level names as Lambda spells them (TRACE, DEBUG, INFO, WARN, ERROR, FATAL).
pub fn level_from(value: Option<&str>) -> LevelFilter {
    match value.map(|v| v.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR" | "FATAL") => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    }
}

/// The filter for `level`. The function's own logs follow it all the way to
/// TRACE; its dependencies stop at DEBUG, because their TRACE output carries
/// raw event and HTTP bodies, and so e-mail addresses.
pub fn filter(level: LevelFilter) -> EnvFilter {
    let dependencies = level.min(LevelFilter::DEBUG);
    EnvFilter::builder().parse_lossy(format!("{dependencies},guardduty_inviter={level}"))
}

/// The filter for a `RUST_LOG` value: its rules pass through (a level, or
/// `target=level`), except that no dependency logs at TRACE, for the same
/// reason as in [`filter`].
pub fn rust_log_filter(spec: &str) -> EnvFilter {
    let own = |target: &str| target.starts_with("guardduty_inviter");
    let mut rules = Vec::new();
    for rule in spec.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        match rule.rsplit_once('=') {
            Some((target, level)) if !own(target) && level.eq_ignore_ascii_case("trace") => {
                rules.push(format!("{target}=debug"))
            }
            Some(_) => rules.push(rule.to_owned()),
            None => match level_name(rule) {
                Some(level) => {
                    rules.push(level.min(LevelFilter::DEBUG).to_string());
                    rules.push(format!("guardduty_inviter={level}"));
                }
                // A bare target means everything it logs.
                None if own(rule) => rules.push(rule.to_owned()),
                None => rules.push(format!("{rule}=debug")),
            },
        }
    }
    EnvFilter::builder().parse_lossy(rules.join(","))
}

fn level_name(value: &str) -> Option<LevelFilter> {
    let known = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    known
        .iter()
        .any(|k| k.eq_ignore_ascii_case(value))
        .then(|| level_from(Some(value)))
}

/// Installs the global subscriber, writing to `writer` (stdout in Lambda).
pub fn init_with<W>(writer: W)
where
    W: for<'w> subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let env = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let filter = match (env("AWS_LAMBDA_LOG_LEVEL"), env("RUST_LOG")) {
        (Some(level), _) => filter(level_from(Some(&level))),
        (None, Some(rules)) => rust_log_filter(&rules),
        (None, None) => filter(LevelFilter::INFO),
    };
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .without_time();
    let result = if json {
        builder.json().with_current_span(false).try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
    // Already installed (a test harness): keep that one.
    drop(result);
}

pub fn init() {
    init_with(std::io::stdout);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_level_names_are_understood() {
        assert_eq!(level_from(Some("trace")), LevelFilter::TRACE);
        assert_eq!(level_from(Some("DEBUG")), LevelFilter::DEBUG);
        assert_eq!(level_from(Some("FATAL")), LevelFilter::ERROR);
        assert_eq!(level_from(None), LevelFilter::INFO);
        assert_eq!(level_from(Some("nonsense")), LevelFilter::INFO);
    }

    #[test]
    fn rust_log_rules_pass_through_below_trace_for_dependencies() {
        let f = rust_log_filter("aws_smithy_runtime=debug").to_string();
        assert_eq!(f, "aws_smithy_runtime=debug");
        let f = rust_log_filter("warn,hyper=trace,guardduty_inviter::plan=trace").to_string();
        for want in ["warn", "hyper=debug", "guardduty_inviter::plan=trace"] {
            assert!(f.contains(want), "{want} in {f}");
        }
        assert!(!f.contains("hyper=trace"), "{f}");
        let f = rust_log_filter("trace").to_string();
        assert!(
            f.contains("guardduty_inviter=trace") && f.contains("debug"),
            "{f}"
        );
        assert!(
            !f.replace("guardduty_inviter=trace", "").contains("trace"),
            "{f}"
        );
        let f = rust_log_filter("aws_config").to_string();
        assert_eq!(f, "aws_config=debug");
    }

    #[test]
    fn dependencies_never_log_at_trace() {
        let f = filter(LevelFilter::TRACE).to_string();
        assert!(f.contains("guardduty_inviter=trace"), "{f}");
        assert!(f.contains("debug"), "{f}");
        assert!(
            !f.replace("guardduty_inviter=trace", "").contains("trace"),
            "{f}"
        );
    }
}
