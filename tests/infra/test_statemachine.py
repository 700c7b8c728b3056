"""statemachine/inviter.asl.json: its structure, and its batching, merging and
converging rounds run offline by the small interpreter in asl_eval.py, with a
stand-in for the Lambda task that answers as SPEC.md says the function does
(single- and multi-Region responses, and a GuardDuty that remembers whom it
invited, so that re-sending an account shows what a real re-run would)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter

import pytest

from asl_eval import PAYLOAD_LIMIT, ExecutionFailed, Machine, StatesError, Trace, load_definition, size_of
from conftest import ASL, EVENTS

FUNCTION_ARN = "arn:aws:lambda:us-east-1:999999999999:function:test-inviter"
INVOKE = "arn:aws-us-gov:states:::lambda:invoke"  # any partition: the template substitutes it
LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
REFUSALS = {"InvalidEvent", "DetectorNotFound", "OrganizationsAccessDenied", "ConfigurationError"}
FUNCTION_ERROR_TYPES = REFUSALS | {"RegionDiscoveryFailed"}
LISTS = ("invitedAccounts", "wouldInviteAccounts", "enabledAccounts", "skippedAccounts", "unprocessedAccounts")

# The emulator's sample organization (see events/README.md).
ADMIN = "999999999999"
HOME = "us-east-1"
ORG = {"222222222222", "444444444444", "555555555555", ADMIN}
MEMBERS = {"111111111111"}  # already GuardDuty members: invited without an e-mail
NOT_A_MEMBER = "not a GuardDuty member yet: its e-mail is needed to create it"
ENABLED_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")  # what "all" finds


def definition(max_accounts_per_event=1000, max_rounds=3, wait=30, backoff=2):
    return load_definition(
        str(ASL),
        {
            "LambdaInvokeArn": INVOKE,
            "InviterFunctionArn": FUNCTION_ARN,
            "MaxAccountsPerEvent": max_accounts_per_event,
            "WorkflowMaxRounds": max_rounds,
            "WorkflowRetryWaitSeconds": wait,
            "WorkflowRetryBackoffRate": backoff,
        },
    )


@pytest.fixture(scope="module")
def asl():
    return json.loads(ASL.read_text())


def task_state(asl):
    return asl["States"]["InviteBatches"]["ItemProcessor"]["States"]["InviteBatch"]


def acct(n: int) -> str:
    return f"{n:012d}"


# ----------------------------------------------------------- the function


class FakeInviter:
    """Answers a batch as the function would (SPEC.md's per-account rules,
    reduced to what these tests need), in one Region or many, against a
    GuardDuty that remembers whom it invited: a re-sent account it invited
    before is skipped INVITATION_PENDING, as a real re-run finds it.

    outcome(account, region, n, payload) may script an account: n counts how
    often the function was asked about that account in that Region; return
    "invite", ("skipped", code), ("unprocessed", code, retryable), or None
    for the default rules. fail(payload, attempt) may return an error to
    raise instead of answering."""

    def __init__(self, fail=None, outcome=None, delay=0.0, meet=False, regions_setting=None, member_role=False):
        self.fail = fail or (lambda payload, attempt: None)
        self.outcome = outcome or (lambda account, region, n, payload: None)
        self.delay = delay
        # meet: the first call waits (up to 30 s) until a second one is in
        # flight, so that two at once happen whatever the machine's load.
        self.meet = meet
        self.regions_setting = regions_setting  # the function's REGIONS
        self.member_role = member_role  # MEMBER_ROLE_NAME set: accepts, enabledAccounts
        self.two_in_flight = threading.Event()
        self.payloads = []  # in the order the calls came, which Map does not promise
        self.attempts = Counter()
        self.asked = Counter()  # (region, account): answers given about it
        self.status = {}  # (region, account) -> GuardDuty member status after a write
        self.emails = Counter()  # invitation e-mails GuardDuty sent, per account
        self.in_flight = 0
        self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, resource, arguments):
        assert resource == INVOKE
        assert arguments["FunctionName"] == FUNCTION_ARN
        payload = arguments["Payload"]
        key = json.dumps(payload, sort_keys=True)
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
            with self.lock:
                return {"ExecutedVersion": "$LATEST", "StatusCode": 200, "Payload": self.respond(payload)}
        finally:
            with self.lock:
                self.in_flight -= 1

    def attempts_of(self, account):
        """How many calls named the account (every attempt, retries included)."""
        return sum(n for key, n in self.attempts.items() if account in ids_of(json.loads(key)))

    def respond(self, payload):
        regions = payload.get("regions", self.regions_setting)
        multi = regions is not None
        if regions == "all":
            regions = sorted(ENABLED_REGIONS)
        if not multi:
            regions = [HOME]
        emails = {}
        for a in payload.get("accounts", []):
            emails.setdefault(a["accountId"], a.get("email"))
        dry = bool(payload.get("dryRun"))
        notify = not payload.get("disableEmailNotification", False)
        mailed = set()
        answers = []
        for region in regions:
            res = {"region": region, "detectorId": f"det-{region}", "invitedAccounts": [],
                   "skippedAccounts": [], "unprocessedAccounts": []}
            if dry:
                res["wouldInviteAccounts"] = []
            if self.member_role:
                res["enabledAccounts"] = []
            for a in ids_of(payload):
                self.asked[(region, a)] += 1
                o = self.outcome(a, region, self.asked[(region, a)], payload) or self.default(a, region, emails)
                if o == "invite":
                    if dry:
                        res["wouldInviteAccounts"].append(a)
                        continue
                    if notify and a not in mailed:  # SPEC: one e-mail per account and invocation
                        self.emails[a] += 1
                        mailed.add(a)
                    if self.member_role:
                        self.status[(region, a)] = "Enabled"
                        res["enabledAccounts"].append(a)
                    else:
                        self.status[(region, a)] = "Invited"
                        res["invitedAccounts"].append(a)
                elif o[0] == "skipped":
                    res["skippedAccounts"].append({"accountId": a, "code": o[1], "reason": f"reason {o[1]}"})
                else:
                    res["unprocessedAccounts"].append(
                        {"accountId": a, "code": o[1], "retryable": o[2], "result": f"result {o[1]}"})
            answers.append(res)
        if not multi:
            (single,) = answers
            del single["region"]
            single["dryRun"] = dry
            return single
        return {"dryRun": dry, "regions": answers}

    def default(self, a, region, emails):
        if not (isinstance(a, str) and len(a) == 12 and a.isdigit()):
            return ("unprocessed", "INVALID_ACCOUNT_ID", False)
        if a in ORG:
            return ("skipped", "ORGANIZATION_MEMBER")
        status = self.status.get((region, a))
        if status == "Invited":
            return ("skipped", "INVITATION_PENDING")
        if status == "Enabled":
            return ("skipped", "ALREADY_ENABLED")
        if a in MEMBERS or emails.get(a):
            return "invite"
        return ("unprocessed", "EMAIL_REQUIRED", False)


def ids_of(payload):
    """The distinct accounts a payload names, in the function's first-seen order."""
    return list(dict.fromkeys(payload.get("accountIds", []) + [a["accountId"] for a in payload.get("accounts", [])]))


def function_error(error_type, message):
    # How Step Functions reports a function error: the errorType as Error, the
    # function's error payload as Cause.
    return StatesError(error_type, json.dumps({"errorType": error_type, "errorMessage": message}))


def run(execution_input, inviter=None, **definition_args):
    inviter = inviter or FakeInviter()
    trace = Trace()
    out = Machine(definition(**definition_args), inviter, trace).run(execution_input)
    return out, inviter, trace


def rounds(trace):
    """The payloads of each round, in the Map's item order."""
    out, i = [], 0
    for n in trace.round_sizes:
        out.append(trace.map_items[i:i + n])
        i += n
    return out


def batches(trace):
    return [ids_of(item) for item in rounds(trace)[0]]


def assert_each_batch_sent_once(inviter, trace):
    """Every batch went to the function exactly once, as the Map built it
    (the calls themselves come in whatever order the iterations run)."""
    sent = Counter(json.dumps(p, sort_keys=True) for p in inviter.payloads)
    built = Counter(json.dumps(item, sort_keys=True) for item in trace.map_items)
    assert sent == built


def accounts_in(lists):
    return (lists["invitedAccounts"] + lists["wouldInviteAccounts"] + lists["enabledAccounts"]
            + [s["accountId"] for s in lists["skippedAccounts"]]
            + [u["accountId"] for u in lists["unprocessedAccounts"]])


def assert_exactly_once(lists, ids):
    seen = Counter(accounts_in(lists))
    assert set(seen) == set(ids), set(ids) ^ set(seen)
    assert all(n == 1 for n in seen.values()), [a for a, n in seen.items() if n > 1]


def assert_lists_shape(lists):
    for key in LISTS:
        assert isinstance(lists[key], list), (key, lists[key])
    ids = lists["invitedAccounts"] + lists["wouldInviteAccounts"] + lists["enabledAccounts"]
    assert all(isinstance(a, str) for a in ids)
    assert all(set(s) == {"accountId", "code", "reason"} for s in lists["skippedAccounts"])
    assert all(set(u) == {"accountId", "code", "retryable", "result"} for u in lists["unprocessedAccounts"])
    assert all(isinstance(u["retryable"], bool) for u in lists["unprocessedAccounts"])


def assert_single_shape(result):
    assert set(result) == {"dryRun", "rounds", *LISTS}
    assert isinstance(result["dryRun"], bool) and isinstance(result["rounds"], int)
    assert_lists_shape(result)


def assert_multi_shape(result):
    assert set(result) == {"dryRun", "regions", "unprocessedAccounts", "rounds"}
    for entry in result["regions"]:
        assert set(entry) == {"region", "detectorId", *LISTS}
        assert_lists_shape(entry)


def region(result, name):
    (entry,) = [r for r in result["regions"] if r["region"] == name]
    return entry


def unprocessed(lists, account):
    (entry,) = [u for u in lists["unprocessedAccounts"] if u["accountId"] == account]
    return entry


# ----------------------------------------------------------- structure


def test_jsonata_and_start(asl):
    assert asl["QueryLanguage"] == "JSONata"
    assert asl["StartAt"] in asl["States"]


def test_map_concurrency_is_bounded(asl):
    m = asl["States"]["InviteBatches"]
    assert m["Type"] == "Map"
    # GuardDuty's member APIs are rate-limited per account: at most 2 batches at once.
    assert isinstance(m["MaxConcurrency"], int) and 1 <= m["MaxConcurrency"] <= 2


def test_task_invokes_the_function_in_the_stacks_partition(asl):
    task = task_state(asl)
    # The template substitutes arn:${AWS::Partition}:states:::lambda:invoke.
    assert task["Resource"] == "${LambdaInvokeArn}"
    assert task["Arguments"]["FunctionName"] == "${InviterFunctionArn}"
    assert "arn:aws:" not in ASL.read_text(), "no literal partition in the definition"


def test_retries_lambda_service_errors_with_backoff(asl):
    retriers = task_state(asl)["Retry"]
    covering = [r for r in retriers if LAMBDA_ERRORS <= set(r["ErrorEquals"])]
    assert covering, "one retrier covers the four Lambda service errors"
    r = covering[0]
    assert r["BackoffRate"] > 1 and r["IntervalSeconds"] >= 1 and r["MaxAttempts"] >= 3
    # Function errors are deterministic: never retried by the task itself.
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


def test_the_loop_is_bounded(asl):
    # The only way back to the Map is through the Wait and the round check.
    states = asl["States"]
    assert states["Converged"]["Type"] == "Choice"
    assert "${WorkflowMaxRounds}" in states["Converged"]["Choices"][0]["Condition"]
    assert states["Converged"]["Choices"][0]["Next"] == "WaitBeforeRetry"
    assert states["WaitBeforeRetry"]["Type"] == "Wait" and states["WaitBeforeRetry"]["Next"] == "PlanRetry"
    into_build = sorted(n for n, s in states.items() if s.get("Next") == "BuildBatches")
    assert into_build == ["PlanFirstRound", "PlanRetry"]


def test_after_the_map_the_results_live_in_variables_only(asl):
    # The Map's result is merged into $records; passing it on as the state's
    # output too would copy it into every later state's input and output.
    assert asl["States"]["MergeRound"]["Output"] == {}


# ----------------------------------------------------------- batching


def test_sample_input_runs_in_three_merged_batches():
    execution_input = json.loads((EVENTS / "stepfunctions-input.json").read_text())
    ids = execution_input["accountIds"]
    result, inviter, trace = run(execution_input)
    assert_each_batch_sent_once(inviter, trace)
    assert [len(b) for b in batches(trace)] == [50, 50, 20]
    assert [a for b in batches(trace) for a in b] == ids, "batches keep the input order"
    assert all(p["message"] == execution_input["message"] for p in inviter.payloads)
    assert "batchSize" not in inviter.payloads[0]
    assert_single_shape(result)
    assert_exactly_once(result, ids)
    assert result["invitedAccounts"] == ["111111111111"]
    assert {s["accountId"] for s in result["skippedAccounts"]} == ORG
    assert result["wouldInviteAccounts"] == [] and result["dryRun"] is False
    assert result["rounds"] == 1, "nothing retryable: one round"
    assert trace.waits == []


def test_default_batch_size_is_500():
    ids = [acct(100000000000 + i) for i in range(1200)]
    _, inviter, trace = run({"accountIds": ids})
    assert_each_batch_sent_once(inviter, trace)
    assert [len(b) for b in batches(trace)] == [500, 500, 200]


@pytest.mark.parametrize(
    "batch_size, limit, expected",
    [(None, 300, [300, 300, 300, 300]), (2000, 1000, [1000, 200]), (7, 5, [5] * 5)],
)
def test_batches_never_exceed_max_accounts_per_event(batch_size, limit, expected):
    ids = [acct(200000000000 + i) for i in range(sum(expected))]
    execution_input = {"accountIds": ids}
    if batch_size is not None:
        execution_input["batchSize"] = batch_size
    result, inviter, trace = run(execution_input, max_accounts_per_event=limit)
    assert_each_batch_sent_once(inviter, trace)
    assert [len(b) for b in batches(trace)] == expected
    assert_exactly_once(result, ids)


def test_duplicates_are_sent_once():
    ids = ["111111111111", "222222222222", "111111111111", "666666666666", "222222222222"]
    result, inviter, trace = run({"accountIds": ids, "batchSize": 2})
    assert_each_batch_sent_once(inviter, trace)
    assert batches(trace) == [["111111111111", "222222222222"], ["666666666666"]]
    assert_exactly_once(result, set(ids))


def test_one_account_one_batch_still_gives_lists():
    # JSONata collapses one-item sequences to the item; the merge must not.
    result, _, _ = run({"accountIds": ["111111111111"]})
    assert result == {"dryRun": False, "invitedAccounts": ["111111111111"], "wouldInviteAccounts": [],
                      "enabledAccounts": [], "skippedAccounts": [], "unprocessedAccounts": [], "rounds": 1}
    result, _, _ = run({"accountIds": ["222222222222"]})
    assert result["skippedAccounts"] == [{"accountId": "222222222222", "code": "ORGANIZATION_MEMBER",
                                          "reason": "reason ORGANIZATION_MEMBER"}]
    assert result["invitedAccounts"] == []


def test_emails_travel_with_their_account():
    with_email = {acct(300000000000 + i): f"sec{i}@example.com" for i in range(7)}
    plain = [acct(310000000000 + i) for i in range(3)] + ["111111111111"]
    execution_input = {
        "accountIds": plain,
        "accounts": [{"accountId": a, "email": e} for a, e in with_email.items()],
        "batchSize": 3,
    }
    result, inviter, trace = run(execution_input)
    assert_each_batch_sent_once(inviter, trace)
    seen = Counter()
    for payload in inviter.payloads:
        for entry in payload.get("accounts", []):
            assert entry == {"accountId": entry["accountId"], "email": with_email[entry["accountId"]]}
        assert not set(payload.get("accountIds", [])) & set(with_email), "an account with an e-mail is sent with it"
        assert len(ids_of(payload)) <= 3
        seen.update(ids_of(payload))
    assert seen == Counter(plain + list(with_email)), "every account in exactly one batch"
    assert set(result["invitedAccounts"]) == set(with_email) | {"111111111111"}
    assert {u["accountId"] for u in result["unprocessedAccounts"]} == set(plain) - {"111111111111"}
    assert_exactly_once(result, plain + list(with_email))


def test_every_mention_of_an_account_goes_in_its_batch():
    # Named by ID and with an e-mail, and accountId too: one account, one
    # batch, every mention (the function decides what they mean together).
    a, b = acct(320000000001), acct(320000000002)
    execution_input = {"accountIds": [a, b], "accountId": b,
                       "accounts": [{"accountId": a, "email": "a@example.com"}], "batchSize": 1}
    result, inviter, trace = run(execution_input)
    assert sorted((ids_of(p), p.get("accountIds"), p.get("accounts")) for p in inviter.payloads) == [
        ([a], [a], [{"accountId": a, "email": "a@example.com"}]),
        ([b], [b], None),
    ]
    assert_exactly_once(result, [a, b])


def test_dry_run_is_passed_on_and_merged():
    ids = ["111111111111", "222222222222", "12345"]
    result, inviter, _ = run({"accountIds": ids, "dryRun": True, "batchSize": 1})
    assert all(p["dryRun"] is True for p in inviter.payloads)
    assert result["wouldInviteAccounts"] == ["111111111111"]
    assert result["invitedAccounts"] == [] and result["dryRun"] is True
    assert inviter.status == {}, "nothing was invited"
    assert_single_shape(result)
    assert_exactly_once(result, ids)


def test_options_passed_only_when_given():
    _, inviter, _ = run({"accountIds": ["111111111111"], "detectorId": "abc", "message": "hi",
                         "disableEmailNotification": True, "regions": ["eu-west-1"]})
    (payload,) = inviter.payloads
    assert payload == {"accountIds": ["111111111111"], "detectorId": "abc", "message": "hi",
                       "disableEmailNotification": True, "regions": ["eu-west-1"]}
    _, inviter, _ = run({"accountIds": ["111111111111"], "message": None, "regions": None, "dryRun": None})
    assert inviter.payloads == [{"accountIds": ["111111111111"]}]


def test_output_lists_follow_the_input_order():
    ids = [acct(330000000000 + i) for i in range(9)]
    order = ids[::-1]

    def outcome(a, r, n, p):
        return "invite" if int(a[-1]) % 2 else ("unprocessed", "EMAIL_REQUIRED", False)

    result, _, _ = run({"accountIds": order, "batchSize": 2}, FakeInviter(outcome=outcome))
    assert result["invitedAccounts"] == [a for a in order if int(a[-1]) % 2]
    assert [u["accountId"] for u in result["unprocessedAccounts"]] == [a for a in order if not int(a[-1]) % 2]


# ----------------------------------------------------------- failed batches


def test_a_batch_refused_by_the_function_is_reported_unprocessed():
    ids = [acct(300000000000 + i) for i in range(6)] + ["111111111111"]

    def fail(payload, attempt):
        if "300000000002" in payload["accountIds"]:
            return function_error("InvalidEvent", "more distinct account IDs than MAX_ACCOUNTS_PER_EVENT")

    result, inviter, trace = run({"accountIds": ids, "batchSize": 3}, FakeInviter(fail))
    assert trace.caught == [("InvalidEvent", "BatchFailed")]
    assert inviter.attempts_of("300000000002") == 1, "not retried, not re-sent"
    failed = [u for u in result["unprocessedAccounts"] if "InvalidEvent" in u["result"]]
    assert [u["accountId"] for u in failed] == ["300000000000", "300000000001", "300000000002"]
    assert {u["result"] for u in failed} == {
        "the function refused this batch: InvalidEvent: more distinct account IDs than MAX_ACCOUNTS_PER_EVENT"
    }
    assert {(u["code"], u["retryable"]) for u in failed} == {("CALL_FAILED", False)}
    assert result["invitedAccounts"] == ["111111111111"]
    assert result["rounds"] == 1
    assert_single_shape(result)
    assert_exactly_once(result, ids)


@pytest.mark.parametrize("error_type", sorted(REFUSALS))
def test_each_refusal_is_caught_and_not_resent(error_type):
    inviter = FakeInviter(lambda p, a: function_error(error_type, "nope"))
    result, _, trace = run({"accountIds": ["111111111111", "666666666666"]}, inviter)
    assert trace.caught == [(error_type, "BatchFailed")]
    assert [u["accountId"] for u in result["unprocessedAccounts"]] == ["111111111111", "666666666666"]
    assert all(error_type in u["result"] and u["retryable"] is False for u in result["unprocessedAccounts"])
    assert result["rounds"] == 1 and len(inviter.payloads) == 1


def test_region_discovery_failure_is_retryable():
    def fail(payload, attempt):
        if attempt == 1:
            return function_error("RegionDiscoveryFailed", "ListRegions: ThrottlingException")

    result, inviter, trace = run({"accountIds": ["111111111111"], "regions": "all"}, FakeInviter(fail))
    assert trace.caught == [("RegionDiscoveryFailed", "BatchFailed")]
    assert [p.get("regions") for p in inviter.payloads] == ["all", "all"], "the Regions were never learnt"
    assert result["rounds"] == 2
    assert [r["region"] for r in result["regions"]] == sorted(ENABLED_REGIONS)
    assert all(r["invitedAccounts"] == ["111111111111"] for r in result["regions"])
    assert result["unprocessedAccounts"] == []


def test_lambda_throttling_is_retried_with_backoff():
    def fail(payload, attempt):
        if attempt <= 2:
            return StatesError("Lambda.TooManyRequestsException", "Rate Exceeded.")

    result, inviter, trace = run({"accountIds": ["111111111111"]}, FakeInviter(fail))
    assert inviter.attempts_of("111111111111") == 3
    assert trace.retry_delays == [2, 4]
    assert result["invitedAccounts"] == ["111111111111"] and result["rounds"] == 1


def test_exhausted_retries_and_unknown_errors_end_in_unprocessed_after_every_round():
    def fail(payload, attempt):
        if ids_of(payload)[0] == "111111111111":
            return StatesError("Lambda.ServiceException", "Internal error")
        return StatesError("States.Timeout", "")

    result, inviter, trace = run({"accountIds": ["111111111111", "666666666666"], "batchSize": 1},
                                 FakeInviter(fail), max_rounds=3)
    per_round = 1 + task_state(json.loads(ASL.read_text()))["Retry"][0]["MaxAttempts"]
    assert inviter.attempts_of("111111111111") == 3 * per_round
    assert inviter.attempts_of("666666666666") == 3
    by_id = {u["accountId"]: u for u in result["unprocessedAccounts"]}
    assert "Lambda.ServiceException" in by_id["111111111111"]["result"]
    assert "States.Timeout" in by_id["666666666666"]["result"]
    assert {(u["code"], u["retryable"]) for u in by_id.values()} == {("OUTCOME_UNKNOWN", True)}
    assert result["rounds"] == 3
    assert_exactly_once(result, ["111111111111", "666666666666"])


def test_no_more_than_two_batches_at_once():
    ids = [acct(400000000000 + i) for i in range(10)]
    # The first call waits for a second, so two at once always happen; the
    # delay gives a third the time to start if the limit let it.
    inviter = FakeInviter(delay=0.05, meet=True)
    result, _, trace = run({"accountIds": ids, "batchSize": 1}, inviter)
    assert inviter.peak == 2
    assert trace.max_concurrency["InviteBatches"] == 2
    assert_exactly_once(result, ids)


# ----------------------------------------------------------- converging


def test_retryable_accounts_are_resent_until_they_succeed():
    flaky = acct(500000000001)
    others = ["111111111111", "222222222222", "666666666666"]

    def outcome(a, r, n, p):
        if a == flaky and n < 3:
            return ("unprocessed", "NOT_ATTEMPTED", True)
        return "invite" if a == flaky else None

    result, inviter, trace = run({"accountIds": others + [flaky]}, FakeInviter(outcome=outcome))
    assert [[ids_of(p) for p in r] for r in rounds(trace)] == [[others + [flaky]], [[flaky]], [[flaky]]]
    assert result["rounds"] == 3
    assert trace.waits == [30, 60], "backoff between rounds"
    assert result["invitedAccounts"] == ["111111111111", flaky]
    assert [u["accountId"] for u in result["unprocessedAccounts"]] == ["666666666666"], "the retried entry is gone"
    assert_exactly_once(result, others + [flaky])


def test_round_limit_stops_and_reports_the_last_result():
    stuck = acct(500000000002)

    def outcome(a, r, n, p):
        if a == stuck:
            return ("unprocessed", "CALL_FAILED", True)

    result, inviter, trace = run({"accountIds": [stuck, "666666666666"]}, FakeInviter(outcome=outcome),
                                 max_rounds=4, wait=5, backoff=3)
    assert result["rounds"] == 4
    assert inviter.attempts_of(stuck) == 4
    assert inviter.attempts_of("666666666666") == 1, "EMAIL_REQUIRED is not retryable"
    assert trace.waits == [5, 15, 45]
    assert unprocessed(result, stuck) == {"accountId": stuck, "code": "CALL_FAILED", "retryable": True,
                                          "result": "result CALL_FAILED"}
    assert_exactly_once(result, [stuck, "666666666666"])


def test_one_round_means_no_resending():
    def outcome(a, r, n, p):
        return ("unprocessed", "NOT_ATTEMPTED", True)

    result, inviter, trace = run({"accountIds": ["111111111111"]}, FakeInviter(outcome=outcome), max_rounds=1)
    assert result["rounds"] == 1 and len(inviter.payloads) == 1 and trace.waits == []
    assert unprocessed(result, "111111111111")["retryable"] is True


def test_non_retryable_accounts_are_never_resent():
    codes = ["INVALID_EMAIL", "EMAIL_REQUIRED", "REJECTED", "CALL_FAILED", "REGION_UNAVAILABLE",
             "MEMBER_DETECTOR_MISSING", "UNSUPPORTED_STATUS"]
    ids = [acct(510000000000 + i) for i in range(len(codes))]
    flaky = acct(519999999999)

    def outcome(a, r, n, p):
        if a in ids:
            return ("unprocessed", codes[ids.index(a)], False)
        if a == flaky and n == 1:
            return ("unprocessed", "OUTCOME_UNKNOWN", True)
        return "invite"

    result, inviter, trace = run({"accountIds": ids + [flaky]}, FakeInviter(outcome=outcome))
    assert all(inviter.attempts_of(a) == 1 for a in ids)
    assert [ids_of(p) for p in rounds(trace)[1]] == [[flaky]]
    assert [u["code"] for u in result["unprocessedAccounts"]] == codes
    assert result["invitedAccounts"] == [flaky]


def test_a_lost_batch_resent_finds_the_invitation_pending():
    # The first call invited, then its answer was lost (Lambda timed out): the
    # batch is OUTCOME_UNKNOWN, re-sent, and GuardDuty shows it pending.
    a = acct(520000000001)
    inviter = FakeInviter()
    real = inviter.respond

    def fail(payload, attempt):
        if len(inviter.payloads) == 1:
            real(payload)  # it happened...
            return StatesError("Sandbox.Timedout", "Task timed out")  # ...but nobody heard

    inviter.fail = fail
    result, _, _ = run({"accounts": [{"accountId": a, "email": "a@example.com"}]}, inviter)
    assert result["rounds"] == 2
    assert result["skippedAccounts"] == [{"accountId": a, "code": "INVITATION_PENDING",
                                          "reason": "reason INVITATION_PENDING"}]
    assert result["unprocessedAccounts"] == [] and inviter.emails[a] == 1


def test_wait_is_capped_at_an_hour():
    def outcome(a, r, n, p):
        return ("unprocessed", "NOT_ATTEMPTED", True)

    _, _, trace = run({"accountIds": ["111111111111"]}, FakeInviter(outcome=outcome),
                      max_rounds=4, wait=1000, backoff=3)
    assert trace.waits == [1000, 3000, 3600]


def test_member_role_results_are_merged():
    result, _, _ = run({"accountIds": ["111111111111", "222222222222"], "regions": ["us-east-1", "eu-west-1"]},
                       FakeInviter(member_role=True))
    assert [r["enabledAccounts"] for r in result["regions"]] == [["111111111111"], ["111111111111"]]
    assert all(r["invitedAccounts"] == [] for r in result["regions"])


# ----------------------------------------------------------- Regions


def test_multi_region_results_are_merged_region_by_region():
    ids = ["111111111111", "222222222222", "666666666666", acct(530000000001), "12345"]
    accounts = [{"accountId": acct(530000000001), "email": "x@example.com"}]
    result, inviter, trace = run({"accountIds": [i for i in ids if i != acct(530000000001)],
                                  "accounts": accounts, "regions": ["eu-west-1", "us-east-1"], "batchSize": 2})
    assert len(rounds(trace)[0]) == 3
    assert all(p["regions"] == ["eu-west-1", "us-east-1"] for p in inviter.payloads)
    assert_multi_shape(result)
    assert [r["region"] for r in result["regions"]] == ["eu-west-1", "us-east-1"], "the input's order"
    for entry in result["regions"]:
        assert entry["detectorId"] == f"det-{entry['region']}"
        assert_exactly_once(entry, ids)
        assert entry["invitedAccounts"] == ["111111111111", acct(530000000001)]
        assert [u["accountId"] for u in entry["unprocessedAccounts"]] == ["666666666666", "12345"]
    assert result["unprocessedAccounts"] == [] and result["rounds"] == 1 and result["dryRun"] is False


def test_an_account_is_resent_only_to_the_regions_where_it_is_retryable():
    a, b = acct(540000000001), acct(540000000002)

    def outcome(acc, r, n, p):
        if acc == a and r == "us-east-1" and n == 1:
            return ("unprocessed", "NOT_ATTEMPTED", True)
        if acc == b and n == 1 and r in ("eu-west-1", "us-east-1"):
            return ("unprocessed", "CALL_FAILED", True)

    accounts = [{"accountId": a, "email": "a@example.com"}, {"accountId": b, "email": "b@example.com"}]
    result, inviter, trace = run({"accounts": accounts, "regions": ["eu-west-1", "us-east-1", "ap-southeast-2"],
                                  "message": "m"}, FakeInviter(outcome=outcome))
    second = sorted(rounds(trace)[1], key=lambda p: ids_of(p))
    assert second == [
        # a was invited (and e-mailed) in eu-west-1 already: no second e-mail.
        {"accounts": [accounts[0]], "regions": ["us-east-1"], "message": "m", "disableEmailNotification": True},
        # b was invited in ap-southeast-2 already, by the same first call.
        {"accounts": [accounts[1]], "regions": ["eu-west-1", "us-east-1"], "message": "m",
         "disableEmailNotification": True},
    ]
    assert inviter.emails == Counter({a: 1, b: 1}), "one invitation e-mail per account"
    for entry in result["regions"]:
        assert entry["invitedAccounts"] == [a, b], entry["region"]
        assert entry["unprocessedAccounts"] == []
    assert result["rounds"] == 2


def test_an_account_never_invited_keeps_its_email_notification_on_retry():
    a = acct(540000000003)

    def outcome(acc, r, n, p):
        if n == 1:
            return ("unprocessed", "NOT_ATTEMPTED", True)

    result, inviter, trace = run({"accounts": [{"accountId": a, "email": "a@example.com"}],
                                  "regions": ["eu-west-1", "us-east-1"]}, FakeInviter(outcome=outcome))
    assert rounds(trace)[1] == [{"accounts": [{"accountId": a, "email": "a@example.com"}],
                                 "regions": ["eu-west-1", "us-east-1"]}]
    assert inviter.emails == Counter({a: 1})
    assert all(r["invitedAccounts"] == [a] for r in result["regions"])


def test_all_regions_come_back_sorted_and_retries_name_them():
    a = acct(550000000001)

    def outcome(acc, r, n, p):
        if r == "eu-west-1" and n == 1:
            return ("unprocessed", "OUTCOME_UNKNOWN", True)

    result, inviter, trace = run({"accounts": [{"accountId": a, "email": "a@example.com"}], "regions": "all"},
                                 FakeInviter(outcome=outcome))
    assert inviter.payloads[0]["regions"] == "all"
    assert rounds(trace)[1][0]["regions"] == ["eu-west-1"]
    assert [r["region"] for r in result["regions"]] == sorted(ENABLED_REGIONS)
    assert all(r["invitedAccounts"] == [a] for r in result["regions"])


def test_regions_from_the_function_setting_give_a_multi_region_result():
    result, inviter, _ = run({"accountIds": ["111111111111"]},
                             FakeInviter(regions_setting=["us-east-1", "eu-west-1"]))
    assert "regions" not in inviter.payloads[0]
    assert_multi_shape(result)
    assert [r["region"] for r in result["regions"]] == ["us-east-1", "eu-west-1"]


def test_a_failed_batch_fails_in_every_region_it_named():
    ids = ["111111111111", "666666666666", acct(560000000001)]

    def fail(payload, attempt):
        if acct(560000000001) in ids_of(payload):
            return function_error("DetectorNotFound", "nope")

    result, _, _ = run({"accountIds": ids, "regions": ["eu-west-1", "us-east-1"], "batchSize": 2}, FakeInviter(fail))
    for entry in result["regions"]:
        assert_exactly_once(entry, ids)
        assert unprocessed(entry, acct(560000000001))["code"] == "CALL_FAILED"
    assert result["unprocessedAccounts"] == []


def test_a_lost_batch_with_all_regions_is_spread_over_the_regions_the_others_found_then_resent():
    ids = ["111111111111", acct(570000000001)]

    def fail(payload, attempt):
        if acct(570000000001) in ids_of(payload) and payload["regions"] == "all":
            return StatesError("Lambda.Unknown", "the runtime exited")

    result, inviter, trace = run({"accountIds": ids, "regions": "all", "batchSize": 1},
                                 FakeInviter(fail, outcome=lambda a, r, n, p: "invite"))
    # Its Regions come from the other batch's answer; it was e-mailed nowhere.
    assert rounds(trace)[1] == [{"accountIds": [acct(570000000001)], "regions": sorted(ENABLED_REGIONS)}]
    for entry in result["regions"]:
        assert entry["invitedAccounts"] == ids
    assert result["unprocessedAccounts"] == []


def test_when_no_region_ever_answered_the_accounts_are_listed_outside_the_regions():
    ids = ["111111111111", "666666666666"]
    result, _, _ = run({"accountIds": ids, "regions": "all"},
                       FakeInviter(lambda p, a: function_error("OrganizationsAccessDenied", "denied")))
    assert result["regions"] == []
    assert [u["accountId"] for u in result["unprocessedAccounts"]] == ids
    assert result["rounds"] == 1


def test_dry_run_in_many_regions():
    result, inviter, _ = run({"accountIds": ["111111111111", "222222222222"], "regions": ["eu-west-1", "us-east-1"],
                              "dryRun": True})
    assert result["dryRun"] is True
    assert [r["wouldInviteAccounts"] for r in result["regions"]] == [["111111111111"], ["111111111111"]]
    assert inviter.status == {}


# ----------------------------------------------------------- input


@pytest.mark.parametrize(
    "bad, problem",
    [
        ({}, "no account named"),
        ({"accountIds": "111111111111"}, "accountIds must be an array"),
        ({"accountIds": []}, "no account named"),
        ({"accountIds": [111111111111]}, "accountIds must be an array of account ID strings"),
        ({"accountId": 1}, "accountId must be a string"),
        ({"accounts": [{"email": "a@example.com"}]}, "accounts must be an array of objects"),
        ({"accounts": "x"}, "accounts must be an array of objects"),
        ({"accountIds": ["111111111111"], "batchSize": 0}, "batchSize must be a positive integer"),
        ({"accountIds": ["111111111111"], "batchSize": 2.5}, "batchSize must be a positive integer"),
        ({"accountIds": ["111111111111"], "batchSize": "50"}, "batchSize must be a positive integer"),
        ({"accountIds": ["111111111111"], "regions": []}, "regions must be"),
        ({"accountIds": ["111111111111"], "regions": "eu-west-1"}, "regions must be"),
        ({"accountIds": ["111111111111"], "regions": ["EU-WEST-1"]}, "regions must be"),
        ({"accountIds": ["111111111111"], "regions": ["eu-west-1", "eu-west-1"]}, "regions must be"),
        ({"accountIds": ["111111111111"], "regions": "all", "detectorId": "d"}, "detectorId names the detector of one Region"),
        ({"accountIds": ["111111111111"], "regions": ["a-1", "b-2"], "detectorId": "d"}, "detectorId names"),
        ({"accountIds": ["111111111111"], "dryRun": "yes"}, "dryRun must be true or false"),
        ({"accountIds": ["111111111111"], "disableEmailNotification": 1}, "disableEmailNotification must be"),
        ({"accountIds": ["111111111111"], "message": 5}, "message must be a string"),
        ({"accountIds": ["111111111111"], "detectorId": 5}, "detectorId must be a string"),
        (["111111111111"], "the input must be a JSON object"),
    ],
)
def test_bad_input_fails_the_execution_and_says_why(bad, problem):
    inviter = FakeInviter()
    with pytest.raises(ExecutionFailed) as e:
        run(bad, inviter)
    assert e.value.error == "InvalidInput"
    assert problem in e.value.cause
    assert inviter.payloads == []


@pytest.mark.parametrize("good", [
    {"accountIds": ["111111111111"], "batchSize": None},
    {"accountId": "111111111111"},
    {"accounts": [{"accountId": "111111111111"}]},
    {"accountIds": ["111111111111"], "regions": ["us-gov-west-1"], "detectorId": "d"},
    {"accountIds": ["111111111111"], "regions": None, "detectorId": "d"},
])
def test_good_input_runs(good):
    result, inviter, _ = run(good)
    assert len(inviter.payloads) == 1
    lists = result["regions"][0] if "regions" in result else result
    assert_exactly_once(lists, ["111111111111"])


def test_function_error_without_json_cause_keeps_the_cause():
    inviter = FakeInviter(lambda p, a: StatesError("DetectorNotFound", "no detector in us-east-1"))
    result, _, _ = run({"accountIds": ["111111111111"]}, inviter)
    assert result["unprocessedAccounts"] == [{
        "accountId": "111111111111",
        "code": "CALL_FAILED",
        "retryable": False,
        "result": "the function refused this batch: DetectorNotFound: no detector in us-east-1",
    }]


# ----------------------------------------------------------- Step Functions quotas


def test_a_thousand_accounts_in_one_region_fit_the_payload_quota():
    # MAX_ACCOUNTS_PER_EVENT's default, all skipped with a reason (the
    # largest entries), in two batches.
    ids = [acct(600000000000 + i) for i in range(1000)]
    result, _, _ = run({"accountIds": ids}, FakeInviter(outcome=lambda a, r, n, p: ("skipped", "ALREADY_ENABLED")))
    assert len(result["skippedAccounts"]) == 1000
    assert size_of(result) < PAYLOAD_LIMIT


def test_more_than_the_quota_fails_as_step_functions_would():
    # 3 Regions x 1000 accounts with reasons: more than 256 KiB of results.
    ids = [acct(610000000000 + i) for i in range(1000)]
    with pytest.raises(ExecutionFailed) as e:
        run({"accountIds": ids, "regions": "all"},
            FakeInviter(outcome=lambda a, r, n, p: ("unprocessed", "EMAIL_REQUIRED", False)))
    assert e.value.error == "States.DataLimitExceeded"
