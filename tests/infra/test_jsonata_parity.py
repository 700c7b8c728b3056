"""The JSONata in the state machine gives the same results on jsonata-js (the
engine Step Functions runs, pinned in package.json to the version Step
Functions documents, 2.0.6) as on jsonata-python (the engine the interpreter
in asl_eval.py uses), so the offline runs in test_statemachine.py stand for
the real service.

Every evaluation made while running a set of the state machine's scenarios
is recorded with its bindings and replayed on jsonata-js; every expression of
the definition must be among them.

Where the checks are run for real (CI, scripts/check-infra), a missing node
or node_modules/jsonata fails this test instead of skipping it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

import asl_eval
import test_statemachine as sm
from asl_eval import StatesError, evaluate
from conftest import ROOT

NODE_SCRIPT = r"""
const jsonata = require('jsonata');
const partition = (a, n) => { const out = []; for (let i = 0; i < a.length; i += n) out.push(a.slice(i, i + n)); return out; };
(async () => {
  const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const out = [];
  for (const c of cases) {
    try {
      const e = jsonata(c.expr);
      e.registerFunction('partition', partition);
      e.registerFunction('parse', (s) => JSON.parse(s));
      const r = await e.evaluate(undefined, c.bindings);
      out.push(r === undefined ? {undefined: true} : {value: r});
    } catch (err) { out.push({error: String(err.message || err)}); }
  }
  process.stdout.write(JSON.stringify(out));
})();
"""

# Scenarios of test_statemachine.py whose runs are recorded: between them
# they reach every expression (checked below) in single- and multi-Region
# shapes, with retries, refusals, lost batches and bad input.
SCENARIOS = [
    (sm.test_one_account_one_batch_still_gives_lists, ()),
    (sm.test_emails_travel_with_their_account, ()),
    (sm.test_every_mention_of_an_account_goes_in_its_batch, ()),
    (sm.test_dry_run_is_passed_on_and_merged, ()),
    (sm.test_options_passed_only_when_given, ()),
    (sm.test_a_batch_refused_by_the_function_is_reported_unprocessed, ()),
    (sm.test_function_error_without_json_cause_keeps_the_cause, ()),
    (sm.test_region_discovery_failure_is_retryable, ()),
    (sm.test_retryable_accounts_are_resent_until_they_succeed, ()),
    (sm.test_round_limit_stops_and_reports_the_last_result, ()),
    (sm.test_a_lost_batch_resent_finds_the_invitation_pending, ()),
    (sm.test_member_role_results_are_merged, ()),
    (sm.test_multi_region_results_are_merged_region_by_region, ()),
    (sm.test_an_account_is_resent_only_to_the_regions_where_it_is_retryable, ()),
    (sm.test_a_lost_batch_with_all_regions_is_spread_over_the_regions_the_others_found_then_resent, ()),
    (sm.test_when_no_region_ever_answered_the_accounts_are_listed_outside_the_regions, ()),
    (sm.test_dry_run_in_many_regions, ()),
    (sm.test_bad_input_fails_the_execution_and_says_why, ({}, "no account named")),
    (sm.test_bad_input_fails_the_execution_and_says_why, (["111111111111"], "the input must be a JSON object")),
    (sm.test_bad_input_fails_the_execution_and_says_why,
     ({"accountIds": ["111111111111"], "regions": ["eu-west-1", "eu-west-1"]}, "regions must be")),
    (sm.test_bad_input_fails_the_execution_and_says_why,
     ({"accounts": [{"email": "a@example.com"}]}, "accounts must be an array of objects")),
    (sm.test_bad_input_fails_the_execution_and_says_why,
     ({"accountIds": ["111111111111"], "batchSize": 2.5}, "batchSize must be a positive integer")),
    (sm.test_good_input_runs, ({"accountId": "111111111111"},)),
]


def expressions(value):
    """Every JSONata expression ({% ... %}) in a definition."""
    if isinstance(value, str):
        return {value[2:-2].strip()} if value.startswith("{%") and value.endswith("%}") else set()
    if isinstance(value, list):
        return set().union(*map(expressions, value)) if value else set()
    if isinstance(value, dict):
        return set().union(*map(expressions, value.values())) if value else set()
    return set()


def recorded_cases():
    asl_eval.RECORDER = []
    try:
        for scenario, args in SCENARIOS:
            scenario(*args)
        cases = asl_eval.RECORDER
    finally:
        asl_eval.RECORDER = None
    unique = {}
    for expr, states, variables in cases:
        bindings = {**variables, "states": states}
        unique.setdefault(json.dumps([expr, bindings], sort_keys=True), (expr, bindings))
    return list(unique.values())


def normal(value):
    """JSON numbers as both engines mean them (2.0 and 2 are the same number)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    return value


def node_with_jsonata():
    node = shutil.which("node")
    if node and (ROOT / "node_modules" / "jsonata").is_dir():
        return node
    why = "node and node_modules/jsonata (npm ci, from package.json) are needed"
    if os.environ.get("CI") or os.environ.get("CHECK_INFRA"):
        pytest.fail(f"{why}; CI and scripts/check-infra must run this test")
    pytest.skip(why)


def test_the_pinned_jsonata_is_the_one_step_functions_runs():
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["jsonata"]
    assert pinned == "2.0.6", "Step Functions documents JSONata 2.0.6; pin what it runs"
    node_with_jsonata()
    installed = json.loads((ROOT / "node_modules" / "jsonata" / "package.json").read_text())["version"]
    assert installed == pinned, f"node_modules has jsonata {installed}: run npm ci"


def test_every_expression_is_exercised_and_both_engines_agree():
    node = node_with_jsonata()
    cases = recorded_cases()
    every = expressions(sm.definition())
    seen = {expr for expr, _ in cases}
    assert every <= seen, f"expressions no scenario reached: {sorted(every - seen)}"
    proc = subprocess.run(
        [node, "-e", NODE_SCRIPT], input=json.dumps([{"expr": x, "bindings": b} for x, b in cases]),
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=True,
    )
    js = json.loads(proc.stdout)
    assert len(js) == len(cases)
    mismatches = []
    for (expr, bindings), j in zip(cases, js):
        variables = {k: v for k, v in bindings.items() if k != "states"}
        try:
            py = {"value": evaluate(expr, bindings["states"], variables)}
        except StatesError:
            py = {"error": True}
        if "error" in j or "undefined" in j:
            if "error" not in py:
                mismatches.append((expr, j, py))
        elif "error" in py or normal(py["value"]) != normal(j["value"]):
            mismatches.append((expr, j, py))
    assert not mismatches, mismatches[:3]
