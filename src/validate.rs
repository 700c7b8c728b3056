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
}
