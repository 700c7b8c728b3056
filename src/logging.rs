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

/// Installs the global subscriber, writing to `writer` (stdout in Lambda).
pub fn init_with<W>(writer: W)
where
    W: for<'w> subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = subscriber::fmt()
        .with_env_filter(filter(level_from(level.as_deref())))
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
