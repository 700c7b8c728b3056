//! The checks of what a caller hands in: account IDs, e-mails and detector
//! IDs, each against what GuardDuty itself would take. The reasons never echo
//! the input: it may be anything, and it goes back to the caller and into
//! logs.

/// Longest e-mail GuardDuty takes.
const MAX_EMAIL: usize = 64;
/// Longest detector ID GuardDuty takes.
const MAX_DETECTOR_ID: usize = 300;

/// Exactly 12 ASCII digits.
pub fn check_account_id(id: &str) -> Result<(), String> {
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err("it holds characters other than the ASCII digits 0-9".into());
    }
    if id.len() != 12 {
        return Err(format!("it has {} digits", id.len()));
    }
    Ok(())
}

/// GuardDuty's limits (1 to 64 characters) and an `@`; whitespace and control
/// characters are refused too, since GuardDuty would fail the whole batch.
pub fn check_email(email: &str) -> Result<(), String> {
    if email.is_empty() {
        return Err("it is empty".into());
    }
    let chars = email.chars().count();
    if chars > MAX_EMAIL {
        return Err(format!("it has {chars} characters, more than {MAX_EMAIL}"));
    }
    if !email.contains('@') {
        return Err("it has no @".into());
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it holds white space or control characters".into());
    }
    Ok(())
}

/// A detector ID GuardDuty could take: 1 to 300 ASCII letters, digits, `-`
/// or `_` (GuardDuty's own are 32 hex digits). Anything else would only come
/// back as a failed batch for every account.
pub fn check_detector_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_DETECTOR_ID {
        return Err(format!(
            "must be 1 to {MAX_DETECTOR_ID} characters long, not {}",
            id.len()
        ));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("must hold only ASCII letters, digits, '-' and '_'".into());
    }
    Ok(())
}

/// An IAM role name, or a path and a name (`GuardDutyMember`,
/// `security/GuardDutyMember`): IAM's characters, a name of 1 to 64.
pub fn check_role_name(value: &str) -> Result<(), String> {
    if value.starts_with("arn:") {
        return Err("give the role's name (or path and name), not an ARN: the function builds each member account's role ARN".into());
    }
    let value = value.strip_prefix('/').unwrap_or(value);
    let mut parts: Vec<&str> = value.split('/').collect();
    let name = parts.pop().unwrap_or_default();
    if name.is_empty() || name.len() > 64 || !name.bytes().all(is_iam_name_byte) {
        return Err(
            "the role name must be 1 to 64 of IAM's characters (letters, digits and +=,.@_-), after an optional path".into(),
        );
    }
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(
            "the role's path must be non-empty parts of printable ASCII, separated by '/'".into(),
        );
    }
    Ok(())
}

/// An STS external ID: 2 to 1,224 of `[\w+=,.@:/-]`.
pub fn check_external_id(value: &str) -> Result<(), String> {
    let ok = (2..=1224).contains(&value.len())
        && value
            .bytes()
            .all(|b| is_iam_name_byte(b) || b == b':' || b == b'/');
    if ok {
        Ok(())
    } else {
        Err("must be 2 to 1,224 of the characters STS takes (letters, digits and +=,.@:/_-)".into())
    }
}

fn is_iam_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_against_guardduty_limits() {
        assert!(check_email("a@b").is_ok());
        assert!(check_email("").is_err());
        assert!(check_email(&format!("{}@b.c", "a".repeat(61))).is_err());
        assert!(check_email(&format!("{}@b.c", "a".repeat(60))).is_ok());
        assert!(check_email("ab.c").is_err());
        assert!(check_email("a@b.c\nBcc: x@y").is_err());
    }

    #[test]
    fn role_names_may_carry_a_path() {
        for good in [
            "GuardDutyInviterMember",
            "security/Member",
            "/a/b/Member",
            "x+=,.@_-",
        ] {
            assert!(check_role_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            "/",
            "a//b",
            "sec/",
            "has space",
            long.as_str(),
            "arn:aws:iam::1:role/x",
        ] {
            assert!(check_role_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn external_ids_take_what_sts_takes() {
        assert!(check_external_id("ab").is_ok());
        assert!(check_external_id("urn:example/id=1").is_ok());
        assert!(check_external_id("a").is_err());
        assert!(check_external_id("no spaces").is_err());
    }
}
