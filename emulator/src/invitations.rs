//! The member side of GuardDuty: CreateDetector, ListInvitations,
//! AcceptAdministratorInvitation. Each works on the acting account's state
//! in the request's Region.

use serde_json::{Value, json};

use crate::gd_wire::{bad_request, check_account_id, owned, page};
use crate::identity::Caller;
use crate::reply::Reply;
use crate::state::State;
use crate::util::now_iso8601;

/// CreateDetector where the account already has one in the Region.
/// Confirmed (terraform-provider-aws #11780; nozaq/terraform-aws-secure-baseline
/// #35 and #199: HTTP 400 `BadRequestException`).
pub(crate) const DETECTOR_EXISTS: &str =
    "The request is rejected because a detector already exists for the current account.";

/// AcceptAdministratorInvitation without a pending invitation from that
/// administrator. Confirmed (FIELD-NOTES section 3, org-formation #542).
pub(crate) const NO_INVITATION: &str = "The request is rejected because the current account does not have an invitation from the requested master account.";

/// AcceptAdministratorInvitation naming an invitation ID the pending
/// invitation from that administrator does not have. GuardDuty's generic
/// invalid-input text (seen for this operation in terraform-provider-aws
/// #38833); that GuardDuty answers it for a wrong ID is UNCONFIRMED.
pub(crate) const INVALID_INPUT: &str = "The request is rejected because an invalid or out-of-range value is specified as an input parameter.";

/// AcceptAdministratorInvitation by an account that already accepted another
/// administrator in the Region (an account has at most one). UNCONFIRMED
/// wording: no captured answer was found.
pub(crate) const ALREADY_ASSOCIATED: &str = "The request is rejected because the current account is already associated with another administrator account.";

/// CreateDetector: a fresh 32-hex-digit detector ID, or [`DETECTOR_EXISTS`].
/// The request's settings (`enable`, data sources, features, tags) are not
/// kept.
pub(crate) fn create_detector(st: &mut State, caller: &Caller) -> Result<Value, Reply> {
    let exists = st
        .space(&caller.account, &caller.region)
        .is_some_and(|s| !s.detectors.is_empty());
    if exists {
        return Err(bad_request(DETECTOR_EXISTS));
    }
    let id = st.fresh_hex_id();
    st.space_mut(&caller.account, &caller.region)
        .ensure_detector(&id);
    Ok(json!({ "detectorId": id }))
}

/// ListInvitations: the pending invitations the acting account received in
/// the Region, oldest first, paged like ListDetectors (`maxResults` 1..=50).
pub(crate) fn list_invitations(
    st: &State,
    caller: &Caller,
    query: Option<&str>,
) -> Result<Value, Reply> {
    let space = st.space(&caller.account, &caller.region);
    let all = space.map_or(&[][..], |s| &s.invitations[..]);
    page(all, query, "invitations", "inv")
}

fn required<'a>(body: &'a Value, field: &str) -> Result<&'a str, Reply> {
    body.get(field).and_then(Value::as_str).ok_or_else(|| {
        bad_request(&format!(
            "The request is rejected because an invalid or out-of-range value is specified as an input parameter: {field} is required."
        ))
    })
}

/// AcceptAdministratorInvitation (`POST /detector/{id}/administrator`,
/// `{"administratorId", "invitationId"}`): the detector must be the acting
/// account's in the Region (else the not-owned 400); the pending invitation
/// from `administratorId` must exist (else [`NO_INVITATION`]) and have
/// `invitationId` (else [`INVALID_INPUT`]). On success the invitation is gone,
/// the account's administrator in the Region is `administratorId`, and that
/// administrator's member record of the account in the Region (any of its
/// detectors), if `Invited`, becomes `Enabled`.
pub(crate) fn accept(
    st: &mut State,
    caller: &Caller,
    detector: &str,
    body: &Value,
) -> Result<Value, Reply> {
    let admin = required(body, "administratorId")?;
    let invitation = required(body, "invitationId")?;
    check_account_id(admin)?;
    owned(st.space(&caller.account, &caller.region), detector)?;
    let space = st.space_mut(&caller.account, &caller.region);
    let Some(pos) = space.invitations.iter().position(|i| i.account_id == admin) else {
        return Err(bad_request(NO_INVITATION));
    };
    if space.invitations[pos].invitation_id != invitation {
        return Err(bad_request(INVALID_INPUT));
    }
    if space.administrator.as_deref().is_some_and(|a| a != admin) {
        return Err(bad_request(ALREADY_ASSOCIATED));
    }
    space.invitations.remove(pos);
    space.administrator = Some(admin.to_string());
    let member = caller.account.clone();
    if let Some(admin_space) = st
        .spaces
        .get_mut(&(admin.to_string(), caller.region.clone()))
    {
        for m in admin_space
            .members
            .values_mut()
            .filter_map(|d| d.get_mut(&member))
        {
            if m.relationship_status == "Invited" {
                m.relationship_status = "Enabled".to_string();
                m.updated_at = now_iso8601();
            }
        }
    }
    Ok(json!({}))
}
