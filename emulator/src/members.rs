//! GuardDuty member operations: GetMembers, CreateMembers, DeleteMembers,
//! InviteMembers.
//!
//! Per-account outcomes follow the project's field notes on GuardDuty's API
//! semantics (FIELD-NOTES.md section 3, kept next to SPEC.md); each result
//! text says below whether it is confirmed, and by which public source.

use serde_json::{Value, json};

use crate::gd_wire::{account_ids, bad_request, check_account_id, check_count, owned};
use crate::identity::Caller;
use crate::model::Member;
use crate::reply::Reply;
use crate::space::Space;
use crate::state::State;
use crate::util::now_iso8601;

/// An account that is not a member of the detector (GetMembers,
/// DeleteMembers, InviteMembers).
///
/// Confirmed only for the monitoring and feature APIs
/// (StartMonitoringMembers / StopMonitoringMembers; SRA #151). For
/// GetMembers, DeleteMembers and InviteMembers on unknown accounts no
/// captured result was found: this string is the likely candidate,
/// UNCONFIRMED.
pub(crate) const NOT_A_MEMBER: &str = "The request is rejected because the given account ID is not an associated member of account the current account.";

/// CreateMembers on an account that is already a member, whatever its status.
/// Confirmed (cloud-custodian #3209 log; awsdocs `create-members.md`).
pub(crate) const ALREADY_A_MEMBER: &str = "The request is rejected because the given account ID is already a member or associated member of the current account.";

/// InviteMembers on a member that is `Invited` or `Enabled`: rejected, no
/// invitation sent, no state change. Confirmed for those two statuses
/// (cloud-custodian #3209; terraform-provider-aws `member.go`). The emulator
/// also answers it for `Disabled` (still associated: the administrator only
/// stopped monitoring it) and for the e-mail-verification statuses; see
/// [`invite_action`].
pub(crate) const ALREADY_INVITED: &str = "The request is rejected because the current account has already invited or is already the GuardDuty master of the given member account ID.";

/// CreateMembers naming the administrator's own account. UNCONFIRMED wording
/// (awsdocs `invite-members.md` only says InviteMembers "cannot invite itself").
pub(crate) const CANNOT_ADD_SELF: &str =
    "The request is rejected because the current account cannot be added as a member of itself.";

/// What InviteMembers does with an existing member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InviteAction {
    /// Send the invitation: the member becomes `Invited`.
    Invite,
    /// Unprocessed with [`ALREADY_INVITED`], nothing changes.
    AlreadyInvited,
}

/// InviteMembers by `relationshipStatus`.
///
/// * `Created` -> invited (confirmed: the normal CreateMembers + InviteMembers
///   path).
/// * `Removed`, `Resigned` -> invited. UNCONFIRMED (FIELD-NOTES: the member
///   details are kept after DisassociateMembers, so InviteMembers works again
///   without CreateMembers; SPEC.md invites them).
/// * `Invited`, `Enabled` -> [`ALREADY_INVITED`] (confirmed).
/// * `Disabled` -> [`ALREADY_INVITED`]: the account is still associated, so
///   "already the GuardDuty master" applies (inferred, not captured).
/// * `EmailVerificationFailed`, `EmailVerificationInProgress` ->
///   [`ALREADY_INVITED`], no state change. UNCONFIRMED: no captured answer
///   exists. The closest confirmed behaviour is the rejection above (an
///   invitation was already attempted), and FIELD-NOTES says the only fix for
///   `EmailVerificationFailed` is DeleteMembers then CreateMembers, so a plain
///   re-invite must not move it forward.
/// * Any other (seeded, non-GuardDuty) status -> [`ALREADY_INVITED`]: never
///   invite what the emulator does not understand.
fn invite_action(status: &str) -> InviteAction {
    match status {
        "Created" | "Removed" | "Resigned" => InviteAction::Invite,
        _ => InviteAction::AlreadyInvited,
    }
}

pub(crate) fn member_json(m: &Member, admin: &str) -> Value {
    let mut v = json!({
        "accountId": m.account_id,
        "detectorId": m.detector_id,
        "masterId": admin,
        "administratorId": admin,
        "email": m.email,
        "relationshipStatus": m.relationship_status,
        "updatedAt": m.updated_at,
    });
    if let Some(at) = &m.invited_at {
        v["invitedAt"] = json!(at);
    }
    v
}

/// What an operation answers: its JSON, or an error reply.
type Res = Result<Value, Reply>;

fn unprocessed(account: &str, result: &str) -> Value {
    json!({ "accountId": account, "result": result })
}

/// The acting account's space in the request's Region, after checking that
/// it owns `detector` there.
fn owned_space<'a>(
    st: &'a mut State,
    caller: &Caller,
    detector: &str,
) -> Result<&'a mut Space, Reply> {
    owned(st.space(&caller.account, &caller.region), detector)?;
    Ok(st.space_mut(&caller.account, &caller.region))
}

pub(crate) fn get_members(st: &mut State, caller: &Caller, detector: &str, body: &Value) -> Res {
    let ids = account_ids(body, "accountIds")?;
    let admin = caller.account.clone();
    let space = owned_space(st, caller, detector)?;
    let members = space.members.entry(detector.to_string()).or_default();
    let mut found = Vec::new();
    let mut un = Vec::new();
    for id in ids {
        match members.get(&id) {
            Some(m) => found.push(member_json(m, &admin)),
            None => un.push(unprocessed(&id, NOT_A_MEMBER)),
        }
    }
    Ok(json!({ "members": found, "unprocessedAccounts": un }))
}

pub(crate) fn create_members(st: &mut State, caller: &Caller, detector: &str, body: &Value) -> Res {
    let arr = body
        .get("accountDetails")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad_request("The request is rejected because accountDetails is missing or not a list.")
        })?;
    check_count(arr.len(), "accountDetails")?;
    let mut details = Vec::with_capacity(arr.len());
    for d in arr {
        let id = d.get("accountId").and_then(Value::as_str).ok_or_else(|| {
            bad_request("The request is rejected because accountDetails[].accountId is missing.")
        })?;
        check_account_id(id)?;
        let email = d.get("email").and_then(Value::as_str).unwrap_or("");
        if !(1..=64).contains(&email.chars().count()) {
            return Err(bad_request(&format!(
                "The request is rejected because an invalid or out-of-range value is specified as an input parameter: email for account {id} must be 1 to 64 characters."
            )));
        }
        details.push((id.to_string(), email.to_string()));
    }
    let admin = caller.account.clone();
    let space = owned_space(st, caller, detector)?;
    let members = space.members.entry(detector.to_string()).or_default();
    let mut un = Vec::new();
    for (id, email) in details {
        if id == admin {
            un.push(unprocessed(&id, CANNOT_ADD_SELF));
        } else if members.contains_key(&id) {
            un.push(unprocessed(&id, ALREADY_A_MEMBER));
        } else {
            members.insert(
                id.clone(),
                Member {
                    detector_id: detector.to_string(),
                    account_id: id,
                    email,
                    relationship_status: "Created".to_string(),
                    invited_at: None,
                    updated_at: now_iso8601(),
                    invited_message: None,
                    disable_email_notification: None,
                    invite_count: 0,
                },
            );
        }
    }
    Ok(json!({ "unprocessedAccounts": un }))
}

/// InviteMembers; every member it invites also gets a pending invitation
/// from the acting account in its own account, in the request's Region
/// (what ListInvitations shows it), replacing an older one.
pub(crate) fn invite_members(st: &mut State, caller: &Caller, detector: &str, body: &Value) -> Res {
    let ids = account_ids(body, "accountIds")?;
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string);
    let disable = body
        .get("disableEmailNotification")
        .and_then(Value::as_bool);
    let refusals = st.refusals.clone();
    let space = owned_space(st, caller, detector)?;
    let members = space.members.entry(detector.to_string()).or_default();
    let mut un = Vec::new();
    let mut invited = Vec::new();
    for id in ids {
        let Some(m) = members.get_mut(&id) else {
            un.push(unprocessed(&id, NOT_A_MEMBER));
            continue;
        };
        if let Some(result) = refusals.get(&id) {
            un.push(unprocessed(&id, result));
            continue;
        }
        if invite_action(&m.relationship_status) == InviteAction::AlreadyInvited {
            un.push(unprocessed(&id, ALREADY_INVITED));
            continue;
        }
        let now = now_iso8601();
        m.relationship_status = "Invited".to_string();
        m.invited_at = Some(now.clone());
        m.updated_at = now;
        m.invited_message = message.clone();
        m.disable_email_notification = disable;
        m.invite_count += 1;
        invited.push(id);
    }
    for id in invited {
        st.send_invitation(&id, &caller.region, &caller.account);
    }
    Ok(json!({ "unprocessedAccounts": un }))
}

/// DeleteMembers: removes the member records (any status), so a later
/// CreateMembers starts afresh (`Created`). A non-member is unprocessed with
/// [`NOT_A_MEMBER`] (UNCONFIRMED wording, see there).
///
/// The 2018 API reference also lists "cannot delete the specified member
/// account ID because it is still associated to it"; today's DeleteMembers
/// reference does not, and the emulator does not model that rejection.
///
/// A deleted member's pending invitation from the acting account is
/// withdrawn (it no longer shows in the member's ListInvitations):
/// UNCONFIRMED, the emulator's choice.
pub(crate) fn delete_members(st: &mut State, caller: &Caller, detector: &str, body: &Value) -> Res {
    let ids = account_ids(body, "accountIds")?;
    let space = owned_space(st, caller, detector)?;
    let members = space.members.entry(detector.to_string()).or_default();
    let mut un = Vec::new();
    let mut deleted = Vec::new();
    for id in ids {
        if members.remove(&id).is_none() {
            un.push(unprocessed(&id, NOT_A_MEMBER));
        } else {
            deleted.push(id);
        }
    }
    for id in deleted {
        st.withdraw_invitation(&id, &caller.region, &caller.account);
    }
    Ok(json!({ "unprocessedAccounts": un }))
}
