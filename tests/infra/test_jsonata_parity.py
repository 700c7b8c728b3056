"""The JSONata in the state machine gives the same results on jsonata-js (the
engine Step Functions runs, installed in node_modules with asl-validator) as
on jsonata-python (the engine the interpreter in asl_eval.py uses), so the
offline run in test_statemachine.py stands for the real service."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from asl_eval import StatesError, evaluate, load_definition
from conftest import ASL, ROOT

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


def expressions():
    d = load_definition(str(ASL), {"InviterFunctionArn": "arn:fn", "MaxAccountsPerEvent": 7})
    s = d["States"]
    inner = s["InviteBatches"]["ItemProcessor"]["States"]
    strip = lambda v: v[2:-2].strip()
    return {
        "condition": strip(s["CheckInput"]["Choices"][0]["Condition"]),
        "batches": strip(s["SplitIntoBatches"]["Assign"]["batches"]),
        "options": strip(s["SplitIntoBatches"]["Assign"]["options"]),
        "item": strip(s["InviteBatches"]["ItemSelector"]),
        "merge": strip(s["InviteBatches"]["Output"]),
        "refused": strip(inner["InviteBatch"]["Catch"][0]["Output"]),
        "failed": strip(inner["InviteBatch"]["Catch"][1]["Output"]),
        "unprocessed": strip(inner["BatchFailed"]["Output"]),
    }


def cases():
    e = expressions()
    ids = [f"{500000000000 + i:012d}" for i in range(16)] + ["500000000003"]
    inputs = [
        {"accountIds": ids}, {"accountIds": ids, "batchSize": 5}, {"accountIds": ids, "batchSize": 50},
        {"accountIds": ["1"]}, {"accountIds": ["1"], "batchSize": None}, {"accountIds": "1"},
        {"accountIds": []}, {"accountIds": ["1"], "batchSize": "3"}, {"accountIds": ["1"], "batchSize": 1.5},
        {"accountIds": ["1"], "message": "m", "dryRun": True, "detectorId": None},
    ]
    out = []
    for inp in inputs:
        out.append((e["condition"], {"states": {"input": inp}}))
    for inp in inputs[:5] + inputs[-1:]:
        out.append((e["batches"], {"states": {"input": inp}}))
        out.append((e["options"], {"states": {"input": inp}}))
    for options in ({}, {"message": "m", "dryRun": False}):
        out.append((e["item"], {"options": options, "states": {"input": {}, "context": {"Map": {"Item": {"Index": 0, "Value": ["1", "2"]}}}}}))
    batch = lambda **kw: {"invitedAccounts": [], "skippedAccounts": [], "unprocessedAccounts": [], **kw}
    for results in (
        [batch(invitedAccounts=["1"])],
        [batch(), batch()],
        [batch(invitedAccounts=["1", "2"], skippedAccounts=[{"accountId": "3", "reason": "r"}]),
         batch(unprocessedAccounts=[{"accountId": "4", "result": "x"}], wouldInviteAccounts=["5"])],
    ):
        out.append((e["merge"], {"states": {"input": {}, "result": results}}))
    for cause in ('{"errorType": "InvalidEvent", "errorMessage": "too many"}', "plain text", None):
        err = {"Error": "InvalidEvent"} | ({"Cause": cause} if cause is not None else {})
        for key in ("refused", "failed"):
            out.append((e[key], {"states": {"input": {"accountIds": ["1", "2"]}, "errorOutput": err}}))
    for ids_ in (["1"], ["1", "2"]):
        out.append((e["unprocessed"], {"states": {"input": {"accountIds": ids_, "result": "boom"}}}))
    return out


def test_engines_agree():
    node = shutil.which("node")
    if not node or not (ROOT / "node_modules" / "jsonata").is_dir():
        pytest.skip("node and node_modules/jsonata (npm install) are needed")
    cs = cases()
    proc = subprocess.run(
        [node, "-e", NODE_SCRIPT], input=json.dumps([{"expr": x, "bindings": b} for x, b in cs]),
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=True,
    )
    js = json.loads(proc.stdout)
    assert len(js) == len(cs)
    for (expr, bindings), j in zip(cs, js):
        variables = {k: v for k, v in bindings.items() if k != "states"}
        try:
            py = {"value": evaluate(expr, bindings["states"], variables)}
        except StatesError:
            py = {"error": True}
        if "error" in j or "undefined" in j:
            assert "error" in py, (expr, bindings, j, py)
        else:
            assert py == j, (expr, bindings)
