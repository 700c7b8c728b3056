//! Settings from the environment, read and validated once at init so that a bad
//! value is reported before any event is taken, never half-way through one.

use std::time::Duration;

use crate::error::ConfigurationError;
use crate::regions::Regions;
use crate::validate::{check_external_id, check_role_name};

/// Whether AWS Organizations is asked which accounts it manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationsCheck {
    /// Ask, and never invite an account whose membership is unknown.
    Enforce,
    /// Make no Organizations call at all: every valid account is invited.
    Off,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub detector_id: Option<String>,
    pub invitation_message: Option<String>,
    pub disable_email_notification: bool,
    pub max_accounts_per_event: usize,
    pub organizations_check: OrganizationsCheck,
    pub organizations_cache: Duration,
    /// Most AWS calls in flight at once, per service. Not in SPEC.md's table:
    /// it keeps the function inside the GuardDuty and Organizations API rate
    /// quotas it shares with everything else in the account.
    pub max_calls_in_flight: usize,
    /// `REGIONS`: where to work when the event names no Regions.
    pub regions: Option<Regions>,
    /// `MEMBER_ROLE_NAME`, `MEMBER_ROLE_EXTERNAL_ID`, `ENABLE_MEMBER_DETECTORS`.
    pub member_role: Option<MemberRoleSettings>,
}

/// The role the function assumes in each member account to accept there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRoleSettings {
    pub name: String,
    pub external_id: Option<String>,
    pub create_detectors: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            detector_id: None,
            invitation_message: None,
            disable_email_notification: false,
            max_accounts_per_event: 1000,
            organizations_check: OrganizationsCheck::Enforce,
            organizations_cache: Duration::from_secs(300),
            max_calls_in_flight: DEFAULT_MAX_CALLS_IN_FLIGHT,
            regions: None,
            member_role: None,
        }
    }
}

/// `MAX_CALLS_IN_FLIGHT` when it is not set (bench/bound.py reads it here).
pub const DEFAULT_MAX_CALLS_IN_FLIGHT: usize = 5;

/// Upper bound for `MAX_CALLS_IN_FLIGHT`; beyond it the APIs throttle anyway.
pub const MAX_CALLS_IN_FLIGHT_LIMIT: usize = 20;

impl Settings {
    pub fn from_env() -> Result<Settings, ConfigurationError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process
    /// environment.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigurationError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut s = Settings::default();
        if let Some(id) = get("GUARDDUTY_DETECTOR_ID") {
            if let Err(problem) = crate::validate::check_detector_id(&id) {
                return Err(ConfigurationError {
                    variable: "GUARDDUTY_DETECTOR_ID",
                    problem,
                });
            }
            s.detector_id = Some(id);
        }
        s.invitation_message = get("INVITATION_MESSAGE");
        if let Some(v) = get("DISABLE_EMAIL_NOTIFICATION") {
            s.disable_email_notification = parse_bool("DISABLE_EMAIL_NOTIFICATION", &v)?;
        }
        if let Some(v) = get("MAX_ACCOUNTS_PER_EVENT") {
            let n = parse_count("MAX_ACCOUNTS_PER_EVENT", &v)?;
            if n < 1 {
                return Err(ConfigurationError {
                    variable: "MAX_ACCOUNTS_PER_EVENT",
                    problem: "must be at least 1".into(),
                });
            }
            s.max_accounts_per_event = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(v) = get("ORGANIZATIONS_CHECK") {
            s.organizations_check = match v.to_ascii_lowercase().as_str() {
                "enforce" => OrganizationsCheck::Enforce,
                "off" => OrganizationsCheck::Off,
                _ => {
                    return Err(ConfigurationError {
                        variable: "ORGANIZATIONS_CHECK",
                        problem: format!("must be `enforce` or `off`, not {v:?}"),
                    });
                }
            };
        }
        if let Some(v) = get("ORGANIZATIONS_CACHE_SECONDS") {
            s.organizations_cache =
                Duration::from_secs(parse_count("ORGANIZATIONS_CACHE_SECONDS", &v)?);
        }
        if let Some(v) = get("MAX_CALLS_IN_FLIGHT") {
            let n = parse_count("MAX_CALLS_IN_FLIGHT", &v)?;
            if !(1..=MAX_CALLS_IN_FLIGHT_LIMIT as u64).contains(&n) {
                return Err(ConfigurationError {
                    variable: "MAX_CALLS_IN_FLIGHT",
                    problem: format!("must be from 1 to {MAX_CALLS_IN_FLIGHT_LIMIT}"),
                });
            }
            s.max_calls_in_flight = n as usize;
        }
        if let Some(v) = get("REGIONS") {
            s.regions = Some(parse_regions(&v)?);
        }
        s.member_role = member_role(&get)?;
        Ok(s)
    }
}

/// `all`, or Region names separated by commas (spaces around them ignored).
fn parse_regions(value: &str) -> Result<Regions, ConfigurationError> {
    if value.eq_ignore_ascii_case("all") {
        return Ok(Regions::All);
    }
    let names: Vec<&str> = value.split(',').map(str::trim).collect();
    Regions::named(&names).map_err(|problem| ConfigurationError {
        variable: "REGIONS",
        problem: format!("{problem}; give `all` or Region names separated by commas"),
    })
}

fn member_role(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<MemberRoleSettings>, ConfigurationError> {
    let create_detectors = match get("ENABLE_MEMBER_DETECTORS") {
        Some(v) => parse_bool("ENABLE_MEMBER_DETECTORS", &v)?,
        None => false,
    };
    let external_id = get("MEMBER_ROLE_EXTERNAL_ID");
    let Some(name) = get("MEMBER_ROLE_NAME") else {
        if create_detectors {
            return Err(ConfigurationError {
                variable: "ENABLE_MEMBER_DETECTORS",
                problem: "is true, but MEMBER_ROLE_NAME is not set: detectors are created in member accounts through that role".into(),
            });
        }
        return Ok(None);
    };
    let invalid = |variable, problem| ConfigurationError { variable, problem };
    check_role_name(&name).map_err(|p| invalid("MEMBER_ROLE_NAME", p))?;
    if let Some(id) = &external_id {
        check_external_id(id).map_err(|p| invalid("MEMBER_ROLE_EXTERNAL_ID", p))?;
    }
    Ok(Some(MemberRoleSettings {
        name,
        external_id,
        create_detectors,
    }))
}

fn parse_bool(variable: &'static str, value: &str) -> Result<bool, ConfigurationError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ConfigurationError {
            variable,
            problem: format!("must be true, false, 1 or 0, not {value:?}"),
        }),
    }
}

/// A non-negative integer written with ASCII digits only (`+5`, `-0`, `1e3`
/// and `5.0` are refused, though Rust's own parser takes some of them).
fn parse_count(variable: &'static str, value: &str) -> Result<u64, ConfigurationError> {
    let invalid = || ConfigurationError {
        variable,
        problem: format!("must be a non-negative integer, not {value:?}"),
    };
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    value.parse().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigurationError> {
        Settings::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = settings(&[]).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.max_accounts_per_event, 1000);
        assert_eq!(s.organizations_check, OrganizationsCheck::Enforce);
        assert_eq!(s.organizations_cache, Duration::from_secs(300));
        assert!(!s.disable_email_notification);
        assert_eq!(s.max_calls_in_flight, 5);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let s = settings(&[
            ("GUARDDUTY_DETECTOR_ID", ""),
            ("MAX_ACCOUNTS_PER_EVENT", ""),
            ("ORGANIZATIONS_CHECK", "  "),
            ("DISABLE_EMAIL_NOTIFICATION", ""),
        ])
        .unwrap();
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn booleans_take_any_case_and_digits() {
        for (v, want) in [
            ("TRUE", true),
            ("True", true),
            ("1", true),
            ("false", false),
            ("FaLsE", false),
            ("0", false),
        ] {
            let s = settings(&[("DISABLE_EMAIL_NOTIFICATION", v)]).unwrap();
            assert_eq!(s.disable_email_notification, want, "{v}");
        }
        let e = settings(&[("DISABLE_EMAIL_NOTIFICATION", "yes")]).unwrap_err();
        assert_eq!(e.variable, "DISABLE_EMAIL_NOTIFICATION");
    }

    #[test]
    fn numbers_are_plain_non_negative_integers() {
        for bad in ["-1", "+5", "1.5", "1e3", "ten", "99999999999999999999999"] {
            let e = settings(&[("ORGANIZATIONS_CACHE_SECONDS", bad)]).unwrap_err();
            assert_eq!(e.variable, "ORGANIZATIONS_CACHE_SECONDS", "{bad}");
        }
        let s = settings(&[("ORGANIZATIONS_CACHE_SECONDS", "0")]).unwrap();
        assert_eq!(s.organizations_cache, Duration::ZERO);
        let e = settings(&[("MAX_ACCOUNTS_PER_EVENT", "0")]).unwrap_err();
        assert_eq!(e.variable, "MAX_ACCOUNTS_PER_EVENT");
        let s = settings(&[("MAX_ACCOUNTS_PER_EVENT", "1")]).unwrap();
        assert_eq!(s.max_accounts_per_event, 1);
    }

    #[test]
    fn organizations_check_is_enforce_or_off() {
        let s = settings(&[("ORGANIZATIONS_CHECK", "OFF")]).unwrap();
        assert_eq!(s.organizations_check, OrganizationsCheck::Off);
        let e = settings(&[("ORGANIZATIONS_CHECK", "warn")]).unwrap_err();
        assert_eq!(e.variable, "ORGANIZATIONS_CHECK");
    }

    #[test]
    fn calls_in_flight_is_bounded() {
        assert!(settings(&[("MAX_CALLS_IN_FLIGHT", "0")]).is_err());
        assert!(settings(&[("MAX_CALLS_IN_FLIGHT", "21")]).is_err());
        let s = settings(&[("MAX_CALLS_IN_FLIGHT", "1")]).unwrap();
        assert_eq!(s.max_calls_in_flight, 1);
    }

    #[test]
    fn regions_are_all_or_a_list_of_distinct_names() {
        let s = settings(&[("REGIONS", " eu-west-1 , us-east-1")]).unwrap();
        assert_eq!(
            s.regions,
            Some(Regions::Named(vec!["eu-west-1".into(), "us-east-1".into()]))
        );
        assert_eq!(
            settings(&[("REGIONS", "ALL")]).unwrap().regions,
            Some(Regions::All)
        );
        assert_eq!(settings(&[("REGIONS", " ")]).unwrap().regions, None);
        for bad in [
            "us-east-1,us-east-1",
            "us-east-1,,eu-west-1",
            "US-EAST-1",
            "us-east-1;eu-west-1",
        ] {
            let e = settings(&[("REGIONS", bad)]).unwrap_err();
            assert_eq!(e.variable, "REGIONS", "{bad}");
        }
    }

    #[test]
    fn member_role_settings_hang_together() {
        let s = settings(&[
            ("MEMBER_ROLE_NAME", "security/GuardDutyInviterMember"),
            ("MEMBER_ROLE_EXTERNAL_ID", "ext-123"),
            ("ENABLE_MEMBER_DETECTORS", "TRUE"),
        ])
        .unwrap();
        assert_eq!(
            s.member_role,
            Some(MemberRoleSettings {
                name: "security/GuardDutyInviterMember".into(),
                external_id: Some("ext-123".into()),
                create_detectors: true,
            })
        );
        let e = settings(&[("ENABLE_MEMBER_DETECTORS", "true")]).unwrap_err();
        assert_eq!(e.variable, "ENABLE_MEMBER_DETECTORS");
        assert!(
            settings(&[("ENABLE_MEMBER_DETECTORS", "false")])
                .unwrap()
                .member_role
                .is_none()
        );
        let e = settings(&[("MEMBER_ROLE_NAME", "arn:aws:iam::111111111111:role/x")]).unwrap_err();
        assert_eq!(e.variable, "MEMBER_ROLE_NAME");
        let e = settings(&[
            ("MEMBER_ROLE_NAME", "r"),
            ("MEMBER_ROLE_EXTERNAL_ID", "a b"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "MEMBER_ROLE_EXTERNAL_ID");
        let e = settings(&[
            ("MEMBER_ROLE_NAME", "r"),
            ("ENABLE_MEMBER_DETECTORS", "maybe"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "ENABLE_MEMBER_DETECTORS");
    }

    #[test]
    fn detector_id_is_checked() {
        let long = "a".repeat(301);
        let e = settings(&[("GUARDDUTY_DETECTOR_ID", &long)]).unwrap_err();
        assert_eq!(e.variable, "GUARDDUTY_DETECTOR_ID");
        let s = settings(&[("GUARDDUTY_DETECTOR_ID", "12abc34d567e8fa901bc2d34e56789f0")]).unwrap();
        assert_eq!(
            s.detector_id.as_deref(),
            Some("12abc34d567e8fa901bc2d34e56789f0")
        );
    }
}
