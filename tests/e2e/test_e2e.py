"""End to end: the release `bootstrap` under a real Lambda Runtime API
(`cargo lambda watch --only-lambda-apis`), the real AWS SDK on the wire, the
project's emulator behind it. Every file in events/ is invoked and its
response checked; so are the typed errors, the init error and the logs."""

import json
import re

import pytest

from harness import ROOT, Stack

EVENTS = ROOT / "events"
DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"
ORG_REASON = "managed by AWS Organizations (o-exampleorgid)"
# Outside the organization, not a GuardDuty member yet, and no e-mail to
# create it with (SPEC v2: EMAIL_REQUIRED, no call made for it).
NOT_A_MEMBER = "EMAIL_REQUIRED"

# events/README.md's table, against a fresh sample organization.
EXPECTED = {
    "direct.json": dict(invited=["111111111111", "333333333333"], skipped=["222222222222"], unprocessed={}),
    "array.json": dict(invited=["111111111111"], skipped=["222222222222"], unprocessed={"666666666666": NOT_A_MEMBER}),
    "eventbridge.json": dict(invited=[], skipped=["555555555555"], unprocessed={"666666666666": NOT_A_MEMBER}),
    "with-emails.json": dict(invited=["777777777777", "888888888888"], skipped=["555555555555"], unprocessed={}),
    "boto3.json": dict(invited=["111111111111", "777777777777"], skipped=[], unprocessed={}),
}


@pytest.fixture
def stack():
    with Stack() as s:
        yield s


def ok(stack, payload):
    status, body, _ = stack.invoke(payload)
    assert status == 200, body
    return body


def exactly_once(named, body):
    listed = (
        body["invitedAccounts"]
        + body.get("wouldInviteAccounts", [])
        + [s["accountId"] for s in body["skippedAccounts"]]
        + [u["accountId"] for u in body["unprocessedAccounts"]]
    )
    assert sorted(listed) == sorted(set(named)), "every account exactly once"


def test_every_event_file_is_covered():
    files = {p.name for p in EVENTS.glob("*.json")}
    assert files == set(EXPECTED) | {"dry-run.json", "stepfunctions-input.json", "invalid.json", "scheduled.json",
                                     "multi-region.json", "accept.json"}  # the last two: test_v2.py


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event_file(stack, name):
    event = json.loads((EVENTS / name).read_text())
    body = ok(stack, event)
    want = EXPECTED[name]
    assert body["invitedAccounts"] == want["invited"]
    assert [s["accountId"] for s in body["skippedAccounts"]] == want["skipped"]
    assert all(s["reason"] == ORG_REASON for s in body["skippedAccounts"])
    assert {u["accountId"]: u["code"] for u in body["unprocessedAccounts"]} == want["unprocessed"]
    assert all(u["retryable"] is False for u in body["unprocessedAccounts"])
    assert all(s["code"] == "ORGANIZATION_MEMBER" for s in body["skippedAccounts"])
    assert body["detectorId"] == DETECTOR
    assert body["dryRun"] is False
    assert "wouldInviteAccounts" not in body
    for account in want["invited"]:
        member = stack.emulator.member(DETECTOR, account)
        assert member["relationshipStatus"] == "Invited"


def test_boto3_spellings_carry_message_and_notification_flag(stack):
    ok(stack, json.loads((EVENTS / "boto3.json").read_text()))
    member = stack.emulator.member(DETECTOR, "777777777777")
    assert member["email"] == "aws-security+777@example.com"
    assert member["invitedMessage"].startswith("Please accept")
    assert member["disableEmailNotification"] is True


def test_dry_run_file(stack):
    body = ok(stack, json.loads((EVENTS / "dry-run.json").read_text()))
    assert body["dryRun"] is True
    assert body["invitedAccounts"] == []
    assert body["wouldInviteAccounts"] == ["111111111111"]
    assert [s["accountId"] for s in body["skippedAccounts"]] == ["222222222222"]
    assert body["unprocessedAccounts"][0]["accountId"] == "12345"
    assert body["unprocessedAccounts"][0]["result"].startswith("invalid account ID: must be exactly 12 digits")
    assert not any(c["op"] in ("InviteMembers", "CreateMembers") for c in stack.emulator.calls())
    assert stack.emulator.member(DETECTOR, "111111111111")["relationshipStatus"] == "Removed"


def test_step_functions_input_file(stack):
    event = json.loads((EVENTS / "stepfunctions-input.json").read_text())
    body = ok(stack, event)
    exactly_once(event["accountIds"], body)
    assert body["invitedAccounts"] == ["111111111111"]
    assert [s["accountId"] for s in body["skippedAccounts"]] == ["222222222222", "444444444444", "555555555555"]
    reads = [c for c in stack.emulator.calls() if c["op"] == "GetMembers"]
    assert all(len(c["accounts"]) <= 50 for c in reads)
    invites = [c for c in stack.emulator.calls() if c["op"] == "InviteMembers"]
    # Only the one member that can be invited is; the others need e-mails.
    assert [c["accounts"] for c in invites] == [["111111111111"]]
    assert {u["code"] for u in body["unprocessedAccounts"]} <= {"EMAIL_REQUIRED", "OWN_ACCOUNT"}


def test_scheduled_file_run_twice_is_quiet_the_second_time(stack):
    """The same event on a schedule: the first run invites what it can; the
    second makes no write call and reports the first run's invitation as
    pending."""
    event = json.loads((EVENTS / "scheduled.json").read_text())
    codes = lambda body: (
        {s["accountId"]: s["code"] for s in body["skippedAccounts"]},
        {u["accountId"]: u["code"] for u in body["unprocessedAccounts"]},
    )
    first = ok(stack, event)
    assert first["invitedAccounts"] == ["111111111111"]
    assert codes(first) == (
        {"131313131313": "ALREADY_ENABLED", "141414141414": "INVITATION_PENDING",
         "171717171717": "MONITORING_STOPPED", "222222222222": "ORGANIZATION_MEMBER"},
        {"161616161616": "EMAIL_VERIFICATION_FAILED"},
    )
    stack.emulator.reset_calls()
    second = ok(stack, event)
    assert second["invitedAccounts"] == []
    skipped, unprocessed = codes(second)
    assert skipped["111111111111"] == "INVITATION_PENDING"
    assert unprocessed == {"161616161616": "EMAIL_VERIFICATION_FAILED"}
    writes = [c["op"] for c in stack.emulator.calls() if c["op"] in ("CreateMembers", "DeleteMembers", "InviteMembers")]
    assert writes == [], writes


def test_invalid_file_is_a_typed_error(stack):
    status, body, _ = stack.invoke(json.loads((EVENTS / "invalid.json").read_text()))
    assert status != 200
    assert body["errorType"] == "InvalidEvent"
    assert "accountIds" in body["errorMessage"]
    assert stack.emulator.calls() == []


@pytest.mark.parametrize("payload", [
    {}, [], 42, "111111111111", {"accountIds": [111111111111]},
    {"accountIds": ["111111111111"], "AccountIds": ["111111111111"]},
    {"detail-type": "x", "source": "y", "detail": ["111111111111"]},
    "[" * 5000 + "]" * 5000,
])
def test_bad_events_are_invalid_event(stack, payload):
    raw = payload if isinstance(payload, str) and payload.startswith("[") else json.dumps(payload)
    status, body, _ = stack.invoke(raw)
    assert body["errorType"] == "InvalidEvent", body


def test_too_many_accounts_is_invalid_event():
    with Stack(env={"MAX_ACCOUNTS_PER_EVENT": "2"}) as stack:
        status, body, _ = stack.invoke(["111111111111", "222222222222", "333333333333"])
        assert body["errorType"] == "InvalidEvent"
        assert "MAX_ACCOUNTS_PER_EVENT" in body["errorMessage"]


def test_detector_not_found():
    with Stack(emulator_args=()) as stack:
        status, body, _ = stack.invoke(["111111111111"])
        assert body["errorType"] == "DetectorNotFound"


def test_organizations_access_denied(stack):
    stack.emulator.fault("DescribeAccount", "AccessDenied", times=1000)
    stack.emulator.fault("ListAccounts", "AccessDenied", times=1000)
    status, body, _ = stack.invoke(["111111111111"])
    assert body["errorType"] == "OrganizationsAccessDenied"
    assert not any(c["op"] == "InviteMembers" for c in stack.emulator.calls())


def test_bad_setting_is_reported_through_init_error():
    with Stack(env={"ORGANIZATIONS_CHECK": "sometimes"}) as stack:
        status, body, _ = stack.invoke_failing_init(["111111111111"])
        assert body["errorType"] == "ConfigurationError", body
        assert "ORGANIZATIONS_CHECK" in body["errorMessage"]
        assert stack.emulator.calls() == []


def test_no_aws_call_at_init_and_warm_process_reuses_answers(stack):
    # Init is over once the process polls the Runtime API for its first event
    # (not after a fixed sleep, which a busy machine can outlast).
    if not stack.function.wait_until_polling():
        import time
        time.sleep(0.5)  # no /proc here: the best that can be done
    assert stack.emulator.calls() == [], "no AWS call at init"
    ok(stack, ["222222222222", "111111111111"])
    org_calls = [c for c in stack.emulator.calls() if c["service"] == "organizations"]
    assert org_calls
    stack.emulator.reset_calls()
    ok(stack, ["222222222222", "111111111111"])
    calls = stack.emulator.calls()
    assert [c for c in calls if c["service"] == "organizations"] == []
    # ListDetectors once per warm process; the member record is read afresh,
    # and 111111111111 is Invited since the first run: nothing to write.
    assert [c["op"] for c in calls] == ["GetMembers"], "ListDetectors once per warm process"


def test_logs_are_json_with_one_summary_and_never_an_email():
    with Stack(env={"AWS_LAMBDA_LOG_LEVEL": "TRACE", "AWS_LAMBDA_LOG_FORMAT": "JSON"}) as stack:
        for name in ("direct.json", "with-emails.json", "boto3.json"):
            ok(stack, json.loads((EVENTS / name).read_text()))
        stack.invoke({"accounts": [{"accountId": "12345", "email": "bad\nline@example.com"}]})
        logs = stack.function.logs()
    assert "@example.com" not in logs
    assert not re.search(r"[\w.+-]+@[\w-]+\.\w+", logs)
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    summaries = [l for l in lines if l.get("fields", {}).get("message") == "invocation summary"]
    assert len(summaries) == 4
    assert {"invited", "skipped", "unprocessed"} <= set(summaries[0]["fields"])
    assert any(l.get("level") == "TRACE" or l.get("level") == "DEBUG" for l in lines), "TRACE was honoured"


def test_concurrent_function_processes_on_overlapping_accounts():
    """Three bootstrap processes (each under its own Runtime API) invite
    overlapping sets of new accounts at once through one emulator: each
    reports each of its accounts exactly once, the CreateMembers "already a
    member" race is no failure, and the loser of an invitation race gets
    GuardDuty's own refusal (REJECTED), nothing worse."""
    import threading

    from harness import Emulator, Function, RuntimeApi

    emulator = Emulator("--sample-org", "--latency-ms", "20")
    runtimes, functions = [], []
    try:
        for _ in range(3):
            runtime = RuntimeApi()
            runtimes.append(runtime)
            functions.append(Function(runtime, emulator.endpoint))
        accounts = [f"{700_000_000_000 + n:012d}" for n in range(120)]
        slices = [accounts[k * 20:k * 20 + 80] for k in range(3)]
        results = [None] * 3

        def run(k):
            event = {"accounts": [{"accountId": a, "email": f"{a}@example.com"} for a in slices[k]]}
            results[k] = runtimes[k].invoke(event)

        threads = [threading.Thread(target=run, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=150)  # past invoke()'s own 120 s
        assert None not in results, "an invocation did not return"
        invited = set()
        for k, (status, body, _) in enumerate(results):
            assert status == 200, body
            exactly_once(slices[k], body)
            for entry in body["unprocessedAccounts"]:
                assert entry["code"] == "REJECTED" and "already invited" in entry["result"], entry
            assert all(s["code"] == "INVITATION_PENDING" for s in body["skippedAccounts"]), body
            invited.update(body["invitedAccounts"])
        assert invited == set(accounts), "every account invited by one of them"
        for a in accounts:
            assert emulator.member(DETECTOR, a)["relationshipStatus"] == "Invited"
    finally:
        for part in functions + runtimes + [emulator]:
            part.stop()


@pytest.mark.parametrize("raw", [b"not json", b"{", b"\xff\xfe", b""])
def test_bytes_that_are_not_json_are_invalid_event(stack, raw):
    # Lambda itself only delivers JSON; cargo lambda passes anything through.
    status, body, _ = stack.invoke(raw)
    assert body["errorType"] == "InvalidEvent", body
    assert stack.emulator.calls() == []
