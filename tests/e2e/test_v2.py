"""End to end, contract version 2: several Regions, the member-side accept
and the metrics records, through the release `bootstrap` under cargo
lambda's Runtime API, the real AWS SDK on the wire (GuardDuty in several
Regions, Organizations, AWS Account, STS) and the project's emulator."""

import json
import re

from harness import ROOT, Stack

EVENTS = ROOT / "events"
DETECTORS = {
    "us-east-1": "12abc34d567e8fa901bc2d34e56789f0",
    "eu-west-1": "4e7a1c0b9d8f2a3e5b6c7d8e9f0a1b2c",
    "us-west-2": "7b2e9d4c1a0f8e3d6c5b4a3928170f6e",
}
ROLE = {"MEMBER_ROLE_NAME": "GuardDutyInviterMember"}
MEMBER = "191919191919"
JSON_LOGS = {"AWS_LAMBDA_LOG_FORMAT": "JSON"}


def event(name):
    return json.loads((EVENTS / name).read_text())


def ok(stack, payload):
    status, body, _ = stack.invoke(payload)
    assert status == 200, body
    return body


def lists(response):
    return (
        response["invitedAccounts"]
        + response.get("wouldInviteAccounts", [])
        + response.get("enabledAccounts", [])
        + [s["accountId"] for s in response["skippedAccounts"]]
        + [u["accountId"] for u in response["unprocessedAccounts"]]
    )


def by_region(body):
    return {r["region"]: r for r in body["regions"]}


def codes(response):
    return {
        **{s["accountId"]: s["code"] for s in response["skippedAccounts"]},
        **{u["accountId"]: u["code"] for u in response["unprocessedAccounts"]},
    }


def metrics_records(logs):
    """The embedded-metric-format records among the function's output lines."""
    records = []
    for line in logs.splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "_aws" in value:
            records.append(value)
    return records


def test_multi_region_file():
    with Stack(env=JSON_LOGS) as stack:
        payload = event("multi-region.json")
        body = ok(stack, payload)
        named = payload["accountIds"] + [a["accountId"] for a in payload["accounts"]]
        assert body["dryRun"] is False
        assert [r["region"] for r in body["regions"]] == payload["regions"]
        for r in body["regions"]:
            assert "dryRun" not in r
            assert sorted(lists(r)) == sorted(named), "every account once per Region"
            assert codes(r)["222222222222"] == "ORGANIZATION_MEMBER"
        regions = by_region(body)
        assert regions["us-east-1"]["invitedAccounts"] == ["111111111111", "333333333333"]
        assert regions["eu-west-1"]["invitedAccounts"] == ["333333333333"]
        assert codes(regions["eu-west-1"])["111111111111"] == "EMAIL_REQUIRED"
        unavailable = regions["ap-east-1"]
        assert unavailable["detectorId"] is None
        assert codes(unavailable) == {
            "222222222222": "ORGANIZATION_MEMBER",
            "111111111111": "REGION_UNAVAILABLE",
            "333333333333": "REGION_UNAVAILABLE",
        }
        for region in ("us-east-1", "eu-west-1"):
            assert regions[region]["detectorId"] == DETECTORS[region]
        calls = stack.emulator.calls()
        # One e-mail: us-east-1 (first in the response) sends it, eu-west-1 not.
        invites = {(c["region"], tuple(c["accounts"])): c["disableEmailNotification"]
                   for c in calls if c["op"] == "InviteMembers"}
        assert invites == {
            ("us-east-1", ("111111111111", "333333333333")): False,
            ("eu-west-1", ("333333333333",)): True,
        } or invites == {
            ("us-east-1", ("333333333333", "111111111111")): False,
            ("eu-west-1", ("333333333333",)): True,
        }
        # Organizations, asked once whatever the number of Regions.
        assert sum(c["op"] == "DescribeAccount" for c in calls) == 3
        assert all(c["region"] == "us-east-1" for c in calls if c["service"] == "organizations")
        # One metrics record per Region, matching the response.
        records = metrics_records(stack.function.logs())
    assert [r["Region"] for r in records] == payload["regions"]
    for record in records:
        response = regions[record["Region"]]
        assert record["Invited"] == len(response["invitedAccounts"])
        assert record["Skipped"] == len(response["skippedAccounts"])
        assert record["Unprocessed"] == len(response["unprocessedAccounts"])
        assert record["RetryableUnprocessed"] == sum(u["retryable"] for u in response["unprocessedAccounts"])
        assert record["Enabled"] == 0
    region_calls = lambda region: sum(c["region"] == region and c["service"] == "guardduty" for c in calls)
    assert records[1]["AwsCalls"] == region_calls("eu-west-1")
    assert records[0]["AwsCalls"] == region_calls("us-east-1") + 3, "plus the global calls"


def test_every_aws_call_carries_the_invocations_xray_trace():
    """Lambda (here cargo lambda) hands each invocation an X-Ray trace ID;
    lambda_runtime puts it in _X_AMZN_TRACE_ID and the SDK sends it on every
    call as X-Amzn-Trace-Id, so the calls join the function's trace."""
    with Stack(env=ROLE) as stack:
        ok(stack, event("accept.json"))
        first = {c["traceId"] for c in stack.emulator.calls()}
        stack.emulator.reset_calls()
        ok(stack, event("multi-region.json"))
        second = {c["traceId"] for c in stack.emulator.calls()}
    assert len(first) == 1 and len(second) == 1, (first, second)
    assert first != second, "one trace per invocation"
    assert next(iter(first)).startswith("Root=1-")


def test_all_regions_over_several_pages_and_discovery_failure():
    with Stack() as stack:
        body = ok(stack, {"accountIds": ["111111111111"], "regions": "all"})
        names = [r["region"] for r in body["regions"]]
        assert names == sorted(names) and "ap-east-1" in names and "me-south-1" not in names
        assert sum(c["op"] == "ListRegions" for c in stack.emulator.calls()) >= 2
        available = {r["region"] for r in body["regions"] if r["detectorId"]}
        assert available == set(DETECTORS)

        stack.start_function({"ORGANIZATIONS_CACHE_SECONDS": "0"})
        stack.emulator.fault("ListRegions", "AccessDenied")
        status, body, _ = stack.invoke({"accountIds": ["111111111111"], "regions": "all"})
        assert body["errorType"] == "RegionDiscoveryFailed", body
        assert "account:ListRegions" in body["errorMessage"]


def test_accept_file_with_the_member_role():
    with Stack(env={**ROLE, **JSON_LOGS}) as stack:
        body = ok(stack, event("accept.json"))
        assert body["enabledAccounts"] == [MEMBER]
        assert body["invitedAccounts"] == []
        assert codes(body) == {"131313131313": "ALREADY_ENABLED", "141414141414": "ACCEPT_FAILED"}
        failed = body["unprocessedAccounts"][0]
        assert failed["retryable"] is True
        assert "AccessDenied" in failed["result"] and "pending" in failed["result"]
        emu = stack.emulator
        assert emu.member(DETECTORS["us-east-1"], MEMBER)["relationshipStatus"] == "Enabled"
        # The administrator's account comes from STS under cargo lambda, whose
        # ARN names none; the member side acts as the member.
        assert emu.administrator_of(MEMBER, "us-east-1") == "999999999999"
        member_ops = [c["op"] for c in emu.calls() if c["account"] == MEMBER]
        assert member_ops == ["ListDetectors", "ListInvitations", "AcceptAdministratorInvitation"]
        records = metrics_records(stack.function.logs())
    assert len(records) == 1 and records[0]["Enabled"] == 1
    assert records[0]["RetryableUnprocessed"] == 1


def test_accept_file_without_the_member_role_only_invites():
    with Stack() as stack:
        body = ok(stack, event("accept.json"))
        assert "enabledAccounts" not in body
        assert body["invitedAccounts"] == [MEMBER]
        assert codes(body) == {"141414141414": "INVITATION_PENDING", "131313131313": "ALREADY_ENABLED"}
        assert not any(c["service"] == "sts" for c in stack.emulator.calls())


def test_a_dry_run_with_a_member_role_calls_nothing_in_member_accounts():
    with Stack(env={**ROLE, "ENABLE_MEMBER_DETECTORS": "true"}) as stack:
        payload = {**event("accept.json"), "dryRun": True}
        body = ok(stack, payload)
        assert body["wouldInviteAccounts"] == [MEMBER]
        assert body["enabledAccounts"] == []
        assert codes(body)["141414141414"] == "INVITATION_PENDING"
        calls = stack.emulator.calls()
        assert all(c["account"] == "999999999999" for c in calls)
        assert not any(c["op"] in ("AssumeRole", "InviteMembers", "CreateMembers") for c in calls)


def test_enable_member_detectors_without_a_role_is_a_configuration_error():
    with Stack(env={"ENABLE_MEMBER_DETECTORS": "true"}) as stack:
        status, body, _ = stack.invoke_failing_init(["111111111111"])
        assert body["errorType"] == "ConfigurationError", body
        assert "MEMBER_ROLE_NAME" in body["errorMessage"]


def test_logs_of_regions_and_accepts_hold_no_email_even_at_trace():
    env = {**ROLE, "AWS_LAMBDA_LOG_LEVEL": "TRACE", **JSON_LOGS}
    with Stack(env=env) as stack:
        ok(stack, event("accept.json"))
        ok(stack, event("multi-region.json"))
        logs = stack.function.logs()
    assert not re.search(r"[\w.+-]+@[\w-]+\.\w+", logs)
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    summaries = [l for l in lines if l.get("fields", {}).get("message") == "invocation summary"]
    assert len(summaries) == 2
    assert summaries[0]["fields"]["enabled"] == 1
    assert summaries[1]["fields"]["regions"] == 3
    # Credentials reach the SDK's DEBUG lines only redacted, the assumed
    # role's included.
    assert "SecretAccessKey" not in logs
    assert "secret_access_key" in logs, "the SDK's DEBUG lines were there to check"
    assert not re.search(r'secret_access_key: \\"(?!\*\* redacted)', logs)


def test_bad_regions_are_invalid_events():
    bad = [
        {"accountIds": ["111111111111"], "regions": []},
        {"accountIds": ["111111111111"], "regions": ["us-east-1", "us-east-1"]},
        {"accountIds": ["111111111111"], "regions": ["US-EAST-1"]},
        {"accountIds": ["111111111111"], "regions": "eu-west-1"},
        {"accountIds": ["111111111111"], "regions": ["us-east-1", "eu-west-1"], "detectorId": "d"},
    ]
    with Stack() as stack:
        for payload in bad:
            status, body, _ = stack.invoke(payload)
            assert body["errorType"] == "InvalidEvent", (payload, body)
        assert stack.emulator.calls() == []
