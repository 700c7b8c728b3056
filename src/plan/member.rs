//! The member-record table: what GuardDuty's record of an account says to
//! do next. Pure; one row per member status.

use super::call::{MemberRecord, MemberStatus};
use crate::response::{FailCode, Outcome, SkipCode};

/// What to do with an account once its member record is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// `DeleteMembers`, then `CreateMembers` and `InviteMembers`.
    Recreate,
    /// `CreateMembers`, then `InviteMembers`.
    Create,
    /// `InviteMembers`: the member keeps its details.
    Invite,
    /// Nothing to call: this is where the account ends.
    Done(Outcome),
}

/// The row of the member-record table that applies to an account with
/// `record` (none: not a member of the detector) and the event's `email`.
pub fn next_step(record: Option<&MemberRecord>, email: Option<&str>) -> Next {
    let Some(record) = record else {
        return match email {
            Some(_) => Next::Create,
            None => Next::Done(Outcome::failed(
                FailCode::EmailRequired,
                "not a member of this GuardDuty detector yet, and the event gives no e-mail to create it with: name it in accounts with the e-mail of its root user",
            )),
        };
    };
    match &record.status {
        MemberStatus::Created | MemberStatus::Removed | MemberStatus::Resigned => Next::Invite,
        MemberStatus::EmailVerificationFailed => match email {
            Some(email) if !same_email(record.email.as_deref(), email) => Next::Recreate,
            _ => Next::Done(Outcome::failed(
                FailCode::EmailVerificationFailed,
                "GuardDuty could not verify the e-mail address it has for this member: give the account's correct root e-mail in accounts, and the member is recreated with it",
            )),
        },
        MemberStatus::Invited => {
            let reason = match &record.invited_at {
                Some(at) => format!(
                    "invited at {at}; the invitation is still pending in the member account"
                ),
                None => "invited; the invitation is still pending in the member account".to_owned(),
            };
            Next::Done(Outcome::skipped(SkipCode::InvitationPending, reason))
        }
        MemberStatus::Enabled => Next::Done(Outcome::skipped(
            SkipCode::AlreadyEnabled,
            "already an enabled GuardDuty member",
        )),
        MemberStatus::Disabled => Next::Done(Outcome::skipped(
            SkipCode::MonitoringStopped,
            "a member whose monitoring the administrator stopped (Disabled): StartMonitoringMembers resumes it",
        )),
        MemberStatus::EmailVerificationInProgress => Next::Done(Outcome::skipped(
            SkipCode::VerificationInProgress,
            "GuardDuty is still verifying the member's e-mail address",
        )),
        MemberStatus::Other(status) => Next::Done(Outcome::failed(
            FailCode::UnsupportedStatus,
            format!(
                "member status {status:?} is not one this function acts on; nothing was changed"
            ),
        )),
    }
}

/// E-mail addresses compare without regard to case: GuardDuty's record may
/// spell the same address differently.
fn same_email(recorded: Option<&str>, given: &str) -> bool {
    recorded.is_some_and(|r| r.eq_ignore_ascii_case(given))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(status: MemberStatus, email: &str) -> MemberRecord {
        MemberRecord {
            account_id: "111111111111".into(),
            status,
            email: Some(email.into()),
            invited_at: Some("2026-11-30T12:00:00.000Z".into()),
            administrator_id: None,
        }
    }

    fn code(next: Next) -> (Option<SkipCode>, Option<FailCode>) {
        match next {
            Next::Done(Outcome::Skipped { code, .. }) => (Some(code), None),
            Next::Done(Outcome::Unprocessed { code, .. }) => (None, Some(code)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_row_of_the_member_record_table() {
        use MemberStatus::*;
        assert_eq!(next_step(None, Some("a@b.c")), Next::Create);
        assert_eq!(
            code(next_step(None, None)),
            (None, Some(FailCode::EmailRequired))
        );
        for status in [Created, Removed, Resigned] {
            assert_eq!(next_step(Some(&with(status, "a@b.c")), None), Next::Invite);
        }
        let failed = with(EmailVerificationFailed, "old@b.c");
        assert_eq!(next_step(Some(&failed), Some("new@b.c")), Next::Recreate);
        for email in [None, Some("old@b.c"), Some("OLD@b.c")] {
            assert_eq!(
                code(next_step(Some(&failed), email)),
                (None, Some(FailCode::EmailVerificationFailed))
            );
        }
        let skips = [
            (Invited, SkipCode::InvitationPending),
            (Enabled, SkipCode::AlreadyEnabled),
            (Disabled, SkipCode::MonitoringStopped),
            (
                EmailVerificationInProgress,
                SkipCode::VerificationInProgress,
            ),
        ];
        for (status, skip) in skips {
            for email in [None, Some("new@b.c")] {
                assert_eq!(
                    code(next_step(Some(&with(status.clone(), "a@b.c")), email)),
                    (Some(skip), None)
                );
            }
        }
        assert_eq!(
            code(next_step(
                Some(&with(Other("Paused".into()), "a@b.c")),
                Some("a@b.c")
            )),
            (None, Some(FailCode::UnsupportedStatus))
        );
    }

    #[test]
    fn a_pending_invitation_says_since_when() {
        let Next::Done(Outcome::Skipped { reason, .. }) =
            next_step(Some(&with(MemberStatus::Invited, "a@b.c")), None)
        else {
            panic!()
        };
        assert!(reason.contains("2026-11-30T12:00:00.000Z"), "{reason}");
    }

    #[test]
    fn statuses_are_read_as_guardduty_spells_them() {
        assert_eq!(MemberStatus::parse("Enabled"), MemberStatus::Enabled);
        assert_eq!(
            MemberStatus::parse("EmailVerificationFailed"),
            MemberStatus::EmailVerificationFailed
        );
        assert_eq!(MemberStatus::parse("enabled"), MemberStatus::Enabled);
        assert_eq!(
            MemberStatus::parse("Paused"),
            MemberStatus::Other("Paused".into())
        );
    }
}
