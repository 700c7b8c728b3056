"""statemachine/inviter.asl.json: its structure, and its batching and merging
run offline by the small interpreter in asl_eval.py, with a stand-in for the
Lambda task that answers as SPEC.md says the function does."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest

from asl_eval import ExecutionFailed, Machine, StatesError, Trace, load_definition
from conftest import ASL, EVENTS

FUNCTION_ARN = "arn:aws:lambda:us-east-1:999999999999:function:test-inviter"
LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
FUNCTION_ERROR_TYPES = {"InvalidEvent", "DetectorNotFound", "OrganizationsAccessDenied", "ConfigurationError"}

# The emulator's sample organization (see events/README.md).
ADMIN = "999999999999"
ORG = {"222222222222", "444444444444", "555555555555", ADMIN}
MEMBERS = {"111111111111"}
NOT_A_MEMBER = "The request is rejected because the input account is not a member of the current account."


def definition(max_accounts_per_event=1000):
    return load_definition(
        str(ASL), {"InviterFunctionArn": FUNCTION_ARN, "MaxAccountsPerEvent": max_accounts_per_event}
    )


@pytest.fixture(scope="module")
def asl():
    return json.loads(ASL.read_text())


def task_state(asl):
    return asl["States"]["InviteBatches"]["ItemProcessor"]["States"]["InviteBatch"]


# ----------------------------------------------------------- the function


class FakeInviter:
    """Answers a batch as the function would for the sample organization
    (SPEC.md's per-account rules, reduced to what these tests need)."""

    def __init__(self, fail=None, delay=0.0, meet=False):
        self.fail = fail or (lambda payload, attempt: None)
        self.delay = delay
        # meet: the first call waits (up to 30 s) until a second one is in
        # flight, so that two at once happen whatever the machine's load.
        self.meet = meet
        self.two_in_flight = threading.Event()
        self.payloads = []  # in the order the calls came, which Map does not promise
        self.attempts = Counter()
        self.in_flight = 0
        self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, resource, arguments):
        assert resource == "arn:aws:states:::lambda:invoke"
        assert arguments["FunctionName"] == FUNCTION_ARN
        payload = arguments["Payload"]
        key = tuple(payload["accountIds"])
        with self.lock:
            self.attempts[key] += 1
            attempt = self.attempts[key]
            self.payloads.append(payload)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            if self.in_flight >= 2:
                self.two_in_flight.set()
        try:
            if self.meet:
                self.two_in_flight.wait(timeout=30)
            if self.delay:
                time.sleep(self.delay)
            failure = self.fail(payload, attempt)
            if failure:
                raise failure
            return {"ExecutedVersion": "$LATEST", "StatusCode": 200, "Payload": self.respond(payload)}
        finally:
            with self.lock:
                self.in_flight -= 1

    @staticmethod
    def respond(payload):
        dry = bool(payload.get("dryRun"))
        out = {"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "invitedAccounts": [],
               "skippedAccounts": [], "unprocessedAccounts": [], "dryRun": dry}
        if dry:
            out["wouldInviteAccounts"] = []
        for a in dict.fromkeys(payload["accountIds"]):
            if not (isinstance(a, str) and len(a) == 12 and a.isdigit()):
                out["unprocessedAccounts"].append({"accountId": a, "code": "INVALID_ACCOUNT_ID", "retryable": False,
                                                  "result": "invalid account ID: must be exactly 12 digits"})
            elif a in ORG:
                out["skippedAccounts"].append({"accountId": a, "code": "ORGANIZATION_MEMBER",
                                              "reason": "managed by AWS Organizations (o-exampleorgid)"})
            elif a in MEMBERS:
                out["wouldInviteAccounts" if dry else "invitedAccounts"].append(a)
            else:
                out["unprocessedAccounts"].append({"accountId": a, "code": "EMAIL_REQUIRED", "retryable": False,
                                                  "result": NOT_A_MEMBER})
        return out


def function_error(error_type, message):
    # How Step Functions reports a function error: the errorType as Error, the
    # function's error payload as Cause.
    return StatesError(error_type, json.dumps({"errorType": error_type, "errorMessage": message}))


def run(execution_input, inviter=None, max_accounts_per_event=1000):
    inviter = inviter or FakeInviter()
    trace = Trace()
    out = Machine(definition(max_accounts_per_event), inviter, trace).run(execution_input)
    return out, inviter, trace


def batches(trace):
    """The batches the Map state ran, in its items' order, which is the order
    Step Functions promises for its results (not for its calls)."""
    return [item["accountIds"] for item in trace.map_items]


def assert_each_batch_sent_once(inviter, trace):
    """Every batch went to the function exactly once, as the Map built it
    (the calls themselves come in whatever order the iterations run)."""
    sent = Counter(json.dumps(p, sort_keys=True) for p in inviter.payloads)
    built = Counter(json.dumps(item, sort_keys=True) for item in trace.map_items)
    assert sent == built


def all_accounts(result):
    return (
        result["invitedAccounts"]
        + result["wouldInviteAccounts"]
        + [s["accountId"] for s in result["skippedAccounts"]]
        + [u["accountId"] for u in result["unprocessedAccounts"]]
    )


def assert_exactly_once(result, ids):
    seen = Counter(all_accounts(result))
    assert set(seen) == set(ids), set(ids) ^ set(seen)
    assert all(n == 1 for n in seen.values()), [a for a, n in seen.items() if n > 1]


def assert_merged_shape(result):
    assert set(result) == {"invitedAccounts", "skippedAccounts", "unprocessedAccounts", "wouldInviteAccounts"}
    for key in result:
        assert isinstance(result[key], list), (key, result[key])
    assert all(isinstance(a, str) for a in result["invitedAccounts"] + result["wouldInviteAccounts"])
    assert all(set(s) == {"accountId", "code", "reason"} for s in result["skippedAccounts"])
    assert all(set(u) == {"accountId", "code", "retryable", "result"} for u in result["unprocessedAccounts"])
    assert all(isinstance(u["retryable"], bool) for u in result["unprocessedAccounts"])


# ----------------------------------------------------------- structure


def test_jsonata_and_start(asl):
    assert asl["QueryLanguage"] == "JSONata"
    assert asl["StartAt"] in asl["States"]


def test_map_concurrency_is_bounded(asl):
    m = asl["States"]["InviteBatches"]
    assert m["Type"] == "Map"
    # GuardDuty's member APIs are rate-limited per account: at most 2 batches at once.
    assert isinstance(m["MaxConcurrency"], int) and 1 <= m["MaxConcurrency"] <= 2


def test_task_invokes_the_function(asl):
    task = task_state(asl)
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Arguments"]["FunctionName"] == "${InviterFunctionArn}"


def test_retries_lambda_service_errors_with_backoff(asl):
    retriers = task_state(asl)["Retry"]
    covering = [r for r in retriers if LAMBDA_ERRORS <= set(r["ErrorEquals"])]
    assert covering, "one retrier covers the four Lambda service errors"
    r = covering[0]
    assert r["BackoffRate"] > 1 and r["IntervalSeconds"] >= 1 and r["MaxAttempts"] >= 3
    # Function errors are deterministic: never retried.
    for r in retriers:
        assert not set(r["ErrorEquals"]) & (FUNCTION_ERROR_TYPES | {"States.ALL"}), r


def test_catches_function_errors_then_everything(asl):
    catchers = task_state(asl)["Catch"]
    assert catchers[-1]["ErrorEquals"] == ["States.ALL"], "States.ALL is last"
    named = {e for c in catchers[:-1] for e in c["ErrorEquals"]}
    assert FUNCTION_ERROR_TYPES <= named
    states = asl["States"]["InviteBatches"]["ItemProcessor"]["States"]
    for c in catchers:
        assert states[c["Next"]].get("End") is True


# ----------------------------------------------------------- behaviour


def test_sample_input_runs_in_three_merged_batches():
    execution_input = json.loads((EVENTS / "stepfunctions-input.json").read_text())
    ids = execution_input["accountIds"]
    result, inviter, trace = run(execution_input)
    assert_each_batch_sent_once(inviter, trace)
    assert [len(b) for b in batches(trace)] == [50, 50, 20]
    assert [a for b in batches(trace) for a in b] == ids, "batches keep the input order"
    assert all(p["message"] == execution_input["message"] for p in inviter.payloads)
    assert "batchSize" not in inviter.payloads[0]
    assert_merged_shape(result)
    assert_exactly_once(result, ids)
    assert result["invitedAccounts"] == ["111111111111"]
    assert {s["accountId"] for s in result["skippedAccounts"]} == ORG
    assert result["wouldInviteAccounts"] == []


def test_default_batch_size_is_500():
    ids = [f"{100000000000 + i:012d}" for i in range(1200)]
    _, inviter, trace = run({"accountIds": ids})
    assert_each_batch_sent_once(inviter, trace)
    assert [len(b) for b in batches(trace)] == [500, 500, 200]


@pytest.mark.parametrize(
    "batch_size, limit, expected",
    [(None, 300, [300, 300, 300, 300, 0]), (2000, 1000, [1000, 200, 0, 0, 0]), (7, 5, [5] * 5)],
)
def test_batches_never_exceed_max_accounts_per_event(batch_size, limit, expected):
    n = sum(expected) if sum(expected) else 0
    ids = [f"{200000000000 + i:012d}" for i in range(n)]
    execution_input = {"accountIds": ids}
    if batch_size is not None:
        execution_input["batchSize"] = batch_size
    result, inviter, trace = run(execution_input, max_accounts_per_event=limit)
    assert_each_batch_sent_once(inviter, trace)
    assert [len(b) for b in batches(trace)] == [e for e in expected if e]
    assert_exactly_once(result, ids)


def test_duplicates_are_sent_once():
    ids = ["111111111111", "222222222222", "111111111111", "666666666666", "222222222222"]
    result, inviter, trace = run({"accountIds": ids, "batchSize": 2})
    assert_each_batch_sent_once(inviter, trace)
    assert batches(trace) == [["111111111111", "222222222222"], ["666666666666"]]
    assert_exactly_once(result, set(ids))


def test_one_account_one_batch_still_gives_lists():
    # JSONata collapses one-item sequences to the item; the merge must not.
    result, inviter, _ = run({"accountIds": ["111111111111"]})
    assert result == {"invitedAccounts": ["111111111111"], "skippedAccounts": [],
                      "unprocessedAccounts": [], "wouldInviteAccounts": []}
    result, _, _ = run({"accountIds": ["222222222222"]})
    assert result["skippedAccounts"] == [{"accountId": "222222222222", "code": "ORGANIZATION_MEMBER",
                                          "reason": "managed by AWS Organizations (o-exampleorgid)"}]
    assert result["invitedAccounts"] == []


def test_dry_run_is_passed_on_and_merged():
    ids = ["111111111111", "222222222222", "12345"]
    result, inviter, _ = run({"accountIds": ids, "dryRun": True, "batchSize": 1})
    assert all(p["dryRun"] is True for p in inviter.payloads)
    assert result["wouldInviteAccounts"] == ["111111111111"]
    assert result["invitedAccounts"] == []
    assert_merged_shape(result)
    assert_exactly_once(result, ids)


def test_options_passed_only_when_given():
    _, inviter, _ = run({"accountIds": ["111111111111"], "detectorId": "abc", "message": "hi",
                         "disableEmailNotification": True})
    (payload,) = inviter.payloads
    assert payload == {"accountIds": ["111111111111"], "detectorId": "abc", "message": "hi",
                       "disableEmailNotification": True}
    _, inviter, _ = run({"accountIds": ["111111111111"]})
    assert inviter.payloads == [{"accountIds": ["111111111111"]}]


def test_a_batch_refused_by_the_function_is_reported_unprocessed():
    ids = [f"{300000000000 + i:012d}" for i in range(6)] + ["111111111111"]

    def fail(payload, attempt):
        if "300000000002" in payload["accountIds"]:
            return function_error("InvalidEvent", "more distinct account IDs than MAX_ACCOUNTS_PER_EVENT")

    result, inviter, trace = run({"accountIds": ids, "batchSize": 3}, FakeInviter(fail))
    assert trace.caught == [("InvalidEvent", "BatchFailed")]
    assert inviter.attempts[("300000000000", "300000000001", "300000000002")] == 1, "not retried"
    failed = [u for u in result["unprocessedAccounts"] if "InvalidEvent" in u["result"]]
    assert [u["accountId"] for u in failed] == ["300000000000", "300000000001", "300000000002"]
    assert {u["result"] for u in failed} == {
        "the function refused this batch: InvalidEvent: more distinct account IDs than MAX_ACCOUNTS_PER_EVENT"
    }
    assert {(u["code"], u["retryable"]) for u in failed} == {("CALL_FAILED", False)}
    assert result["invitedAccounts"] == ["111111111111"]
    assert_merged_shape(result)
    assert_exactly_once(result, ids)


@pytest.mark.parametrize("error_type", sorted(FUNCTION_ERROR_TYPES))
def test_each_function_error_type_is_caught(error_type):
    inviter = FakeInviter(lambda p, a: function_error(error_type, "nope"))
    result, _, trace = run({"accountIds": ["111111111111", "666666666666"]}, inviter)
    assert trace.caught == [(error_type, "BatchFailed")]
    assert [u["accountId"] for u in result["unprocessedAccounts"]] == ["111111111111", "666666666666"]
    assert all(error_type in u["result"] for u in result["unprocessedAccounts"])


def test_lambda_throttling_is_retried_with_backoff():
    def fail(payload, attempt):
        if attempt <= 2:
            return StatesError("Lambda.TooManyRequestsException", "Rate Exceeded.")

    result, inviter, trace = run({"accountIds": ["111111111111"]}, FakeInviter(fail))
    assert inviter.attempts[("111111111111",)] == 3
    assert trace.retry_delays == [2, 4]
    assert result["invitedAccounts"] == ["111111111111"]


def test_exhausted_retries_and_unknown_errors_end_in_unprocessed():
    def fail(payload, attempt):
        if payload["accountIds"][0] == "111111111111":
            return StatesError("Lambda.ServiceException", "Internal error")
        return StatesError("States.Timeout", "")

    result, inviter, trace = run({"accountIds": ["111111111111", "666666666666"], "batchSize": 1},
                                 FakeInviter(fail))
    assert inviter.attempts[("111111111111",)] == 1 + task_state(json.loads(ASL.read_text()))["Retry"][0]["MaxAttempts"]
    assert inviter.attempts[("666666666666",)] == 1
    assert sorted(trace.caught) == [("Lambda.ServiceException", "BatchFailed"), ("States.Timeout", "BatchFailed")]
    by_id = {u["accountId"]: u["result"] for u in result["unprocessedAccounts"]}
    assert "Lambda.ServiceException" in by_id["111111111111"]
    assert "States.Timeout" in by_id["666666666666"]
    codes = {(u["code"], u["retryable"]) for u in result["unprocessedAccounts"]}
    assert codes == {("OUTCOME_UNKNOWN", True)}, "a failed batch may have done part: retry it"
    assert_exactly_once(result, ["111111111111", "666666666666"])


def test_no_more_than_two_batches_at_once():
    ids = [f"{400000000000 + i:012d}" for i in range(10)]
    # The first call waits for a second, so two at once always happen; the
    # delay gives a third the time to start if the limit let it.
    inviter = FakeInviter(delay=0.05, meet=True)
    result, _, trace = run({"accountIds": ids, "batchSize": 1}, inviter)
    assert inviter.peak == 2
    assert trace.max_concurrency["InviteBatches"] == 2
    assert_exactly_once(result, ids)


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"accountIds": "111111111111"},
        {"accountIds": []},
        {"accountIds": ["111111111111"], "batchSize": 0},
        {"accountIds": ["111111111111"], "batchSize": 2.5},
        {"accountIds": ["111111111111"], "batchSize": "50"},
        ["111111111111"],
    ],
)
def test_bad_input_fails_the_execution(bad):
    inviter = FakeInviter()
    with pytest.raises(ExecutionFailed) as e:
        run(bad, inviter)
    assert e.value.error == "InvalidInput"
    assert inviter.payloads == []


def test_null_batch_size_means_default():
    _, inviter, _ = run({"accountIds": ["111111111111"], "batchSize": None})
    assert len(inviter.payloads) == 1


def test_function_error_without_json_cause_keeps_the_cause():
    inviter = FakeInviter(lambda p, a: StatesError("DetectorNotFound", "no detector in us-east-1"))
    result, _, _ = run({"accountIds": ["111111111111"]}, inviter)
    assert result["unprocessedAccounts"] == [{
        "accountId": "111111111111",
        "code": "CALL_FAILED",
        "retryable": False,
        "result": "the function refused this batch: DetectorNotFound: no detector in us-east-1",
    }]
