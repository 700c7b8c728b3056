"""Every file in events/ is JSON of one of SPEC.md's event shapes (a light
check: the function itself decides the rest), and every state machine input
there (stepfunctions-*.json) is one the state machine takes."""

from __future__ import annotations

import json
import re

import pytest

from conftest import EVENTS

ACCOUNT_ID = re.compile(r"^\d{12}$")
# The files the docs and tests name; others may be added, with a line in
# events/README.md (checked below).
REQUIRED_FILES = {
    "direct.json", "array.json", "eventbridge.json", "with-emails.json",
    "dry-run.json", "boto3.json", "stepfunctions-input.json", "invalid.json",
    "scheduled.json",
}
CAMEL = {"accountIds", "accountId", "accounts", "detectorId", "regions", "message", "disableEmailNotification", "dryRun"}
BOTO3 = {"AccountIds", "AccountDetails", "DetectorId", "Regions", "Message", "DisableEmailNotification", "DryRun"}
REGION = re.compile(r"^[a-z0-9-]+$")


def event_files():
    return sorted(p.name for p in EVENTS.glob("*.json"))


def load(name):
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def test_the_expected_files_exist():
    assert REQUIRED_FILES <= set(event_files())


def test_readme_describes_every_file():
    readme = (EVENTS / "README.md").read_text(encoding="utf-8")
    for name in event_files():
        assert f"`{name}`" in readme, name


def shape(event):
    """SPEC.md's shape of an event: 'array', 'eventbridge', 'request', or None."""
    if isinstance(event, list):
        return "array" if all(isinstance(a, str) for a in event) and event else None
    if not isinstance(event, dict):
        return None
    if {"detail-type", "source", "detail"} <= set(event):
        return "eventbridge" if shape(event["detail"]) == "request" else None
    if set(event) & (CAMEL | BOTO3):
        return "request" if well_typed(event) else None
    return None


def well_typed(req):
    ids = req.get("accountIds", req.get("AccountIds"))
    one = req.get("accountId")
    accounts = req.get("accounts", req.get("AccountDetails"))
    if ids is not None and not (isinstance(ids, list) and all(isinstance(a, str) for a in ids)):
        return False
    if one is not None and not isinstance(one, str):
        return False
    if accounts is not None:
        if not isinstance(accounts, list):
            return False
        for a in accounts:
            if not isinstance(a, dict) or not isinstance(a.get("accountId", a.get("AccountId")), str):
                return False
    for flag in ("disableEmailNotification", "DisableEmailNotification", "dryRun", "DryRun"):
        if req.get(flag) is not None and not isinstance(req[flag], bool):
            return False
    for text in ("detectorId", "DetectorId", "message", "Message"):
        if req.get(text) is not None and not isinstance(req[text], str):
            return False
    regions = req.get("regions", req.get("Regions"))
    if regions is not None and regions != "all":
        if not (isinstance(regions, list) and regions and all(isinstance(r, str) and REGION.match(r) for r in regions)
                and len(set(regions)) == len(regions)):
            return False
    # Both spellings of one field is ambiguous (InvalidEvent).
    pairs = [("accountIds", "AccountIds"), ("accounts", "AccountDetails"), ("detectorId", "DetectorId"),
             ("regions", "Regions"),
             ("message", "Message"), ("disableEmailNotification", "DisableEmailNotification"), ("dryRun", "DryRun")]
    if any(a in req and b in req for a, b in pairs):
        return False
    return bool(ids or one or accounts)


@pytest.mark.parametrize("name", [n for n in event_files() if not n.startswith("invalid")])
def test_valid_events_have_a_spec_shape(name):
    assert shape(load(name)) is not None, name


def test_invalid_event_is_not_a_valid_shape():
    assert shape(load("invalid.json")) is None


@pytest.mark.parametrize("name, expected", [
    ("direct.json", "request"), ("array.json", "array"), ("eventbridge.json", "eventbridge"),
    ("with-emails.json", "request"), ("dry-run.json", "request"), ("boto3.json", "request"),
    ("stepfunctions-input.json", "request"), ("scheduled.json", "request"),
])
def test_each_file_shows_its_shape(name, expected):
    assert shape(load(name)) == expected


def test_boto3_event_uses_only_boto3_spellings():
    event = load("boto3.json")
    assert set(event) <= BOTO3 and not set(event) & CAMEL
    assert event["DisableEmailNotification"] is True
    assert all(set(d) == {"AccountId", "Email"} for d in event["AccountDetails"])


def test_eventbridge_envelope_is_complete():
    event = load("eventbridge.json")
    assert {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"} <= set(event)
    assert event["account"] == "999999999999" and event["region"] == "us-east-1"
    assert event["detail"]["detectorId"] == "12abc34d567e8fa901bc2d34e56789f0"


def test_dry_run_event():
    event = load("dry-run.json")
    assert event["dryRun"] is True
    assert "12345" in event["accountIds"], "shows an invalid ID"


def test_stepfunctions_input():
    event = load("stepfunctions-input.json")
    ids = event["accountIds"]
    assert 100 <= len(ids) <= 1000 and len(set(ids)) == len(ids)
    assert all(ACCOUNT_ID.match(a) for a in ids)
    assert event["batchSize"] == 50
    assert {"111111111111", "222222222222"} <= set(ids), "mixes the sample organization's accounts in"


def test_emails_present_where_accounts_are_named():
    for name in event_files():
        event = load(name)
        if isinstance(event, dict):
            event = event.get("detail", event)
            for a in event.get("accounts", []) + event.get("AccountDetails", []):
                assert "@" in a.get("email", a.get("Email", "")), (name, a)


@pytest.mark.parametrize("name", [n for n in event_files() if n.startswith("stepfunctions-")])
def test_every_state_machine_input_is_taken_by_the_state_machine(name):
    from test_statemachine import FakeInviter, run

    event = load(name)
    result, inviter, _ = run(event, FakeInviter())
    assert inviter.payloads, name
    assert result["rounds"] >= 1
