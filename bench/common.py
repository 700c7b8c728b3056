"""What the benchmark's cases share: the events, one measured invocation
through the Runtime API, the process figures (RSS, CPU), the checks and the
median of the runs (bench/README.md, "What is measured")."""

from __future__ import annotations

import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

from bound import ORG_SIZE
from harness import ROOT, Emulator, Function, RuntimeApi

DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"
ADMIN = "999999999999"  # the emulator's administrator account (the function's own)

# -------------------------------------------------------------------- events


def make_ids(org_ids: list[str], n: int, rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """(event, inside, outside): half of `n` drawn from the organization
    (spread over its pages; as many as it holds, if fewer), the rest outside
    it, interleaved (inside first), the outside ones left over at the end."""
    org = set(org_ids)
    inside = rng.sample(org_ids, min(n // 2, len(org_ids)))
    outside: list[str] = []
    while len(outside) < n - len(inside):
        candidate = str(rng.randrange(100_000_000_000, 1_000_000_000_000))
        if candidate not in org and candidate not in outside and candidate != ADMIN:
            outside.append(candidate)
    event = [x for pair in zip(inside, outside) for x in pair]
    event += outside[len(inside):]
    return event, inside, outside


def case_event(emu: Emulator, n: int, seed: int, org_size: int) -> tuple[list[str], list[str], list[str]]:
    """The event of `n` accounts for the emulator's organization of
    `org_size` accounts, as make_ids() draws it: (event, inside, outside).
    The 2,000-account organization keeps the events of earlier runs."""
    org_ids = emu.control("GET", "org-accounts")["accountIds"]
    assert len(org_ids) == org_size
    salt = 0 if org_size == ORG_SIZE else org_size * 104_729
    return make_ids(org_ids, n, random.Random(seed * 7919 + n + salt))


def json_records(log: str) -> list[dict]:
    """The JSON objects among the function's output lines (its JSON logs and
    its metrics records); other lines are skipped."""
    out = []
    for line in log.splitlines():
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if isinstance(v, dict):
            out.append(v)
    return out


def summary_lines(log: str) -> list[dict]:
    """The fields of each "invocation summary" log line."""
    return [v["fields"] for v in json_records(log) if v.get("fields", {}).get("message") == "invocation summary"]


def vm_hwm_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_ns(pid: int) -> int | None:
    """CPU time the process has used, all threads (`/proc/<pid>/schedstat`)."""
    try:
        return sum(int(Path(f"/proc/{pid}/task/{t}/schedstat").read_text().split()[0])
                   for t in os.listdir(f"/proc/{pid}/task"))
    except (OSError, ValueError):
        return None


def strategy_of(counts: dict) -> str:
    d, l = counts.get("DescribeAccount", 0), counts.get("ListAccounts", 0)
    if d and l:
        return "Race"
    if d:
        return "Describe"
    if l:
        return "List"
    return "None"


class Checks:
    def __init__(self):
        self.failed: list[str] = []
        self.passed = 0

    def __call__(self, ok: bool, what: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.failed.append(what)
            print(f"CHECK FAILED: {what}", file=sys.stderr)


# ------------------------------------------------------- one fresh process


def start_function(emu: Emulator, env: dict[str, str], label: str, check: Checks) -> tuple[RuntimeApi, Function]:
    """A fresh `bootstrap` under its own Runtime API, a second after start
    (init is over long before), and the checks that init called nothing."""
    emu.reset_calls()
    runtime = RuntimeApi()
    fn = Function(runtime, emu.endpoint, {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO", **env})
    time.sleep(1.0)  # init is done long before; the first invocation is then not paying for it
    init_calls = sum(emu.stats()["counts"].values())
    check(init_calls == 0, f"{label}: no AWS call at init (saw {init_calls})")
    check(fn.proc.poll() is None, f"{label}: bootstrap is running")
    return runtime, fn


def invoke_measured(emu: Emulator, runtime: RuntimeApi, fn: Function, payload: dict) -> dict:
    """One invocation, with what the emulator saw of it (its calls' records
    are reset first) and the CPU time the process used for it."""
    emu.reset_calls()
    cpu_before = cpu_ns(fn.proc.pid)
    status, body, secs = runtime.invoke(payload)
    cpu_after = cpu_ns(fn.proc.pid)
    cpu_ms = round((cpu_after - cpu_before) / 1e6, 2) if cpu_before is not None and cpu_after else None
    stats = emu.stats()
    recorded = emu.calls()
    aws_span = (max(c["endMs"] or c["startMs"] for c in recorded) - min(c["startMs"] for c in recorded)
                if recorded else 0.0)
    summaries = summary_lines(fn.logs())
    return dict(status=status, body=body, wall_ms=secs * 1000.0, cpu_ms=cpu_ms, counts=stats["counts"],
                in_flight=stats["maxInFlight"], recorded=recorded, aws_span_ms=round(aws_span, 1),
                summary=summaries[-1] if summaries else {})


def peak_in_flight(calls: list[dict]) -> int:
    """The most of `calls` in progress at once, from their recorded
    `startMs` / `endMs` (a call that ends as another starts does not
    overlap it)."""
    edges = sorted([(c["startMs"], 1) for c in calls] + [(c["endMs"] or c["startMs"], -1) for c in calls])
    peak = now = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


# --------------------------------------------------------------- the runs


def calls_ratio(calls: int, bound_calls: int) -> float | None:
    """Organizations calls over those of the strategy the lower bound uses;
    None when both are zero (a warm invocation that asks nothing)."""
    if bound_calls:
        return round(calls / bound_calls, 3)
    return None if calls == 0 else math.inf


def median_rows(runs: list[list[dict]]) -> list[dict]:
    """Per invocation (first, warm): the run with the median harness wall
    time, carrying every run's wall and function times."""
    out = []
    for rows in zip(*runs):
        ranked = sorted(rows, key=lambda r: r["wall_ms"])
        row = dict(ranked[len(ranked) // 2])
        row["wall_ms_runs"] = [r["wall_ms"] for r in rows]
        row["function_ms_runs"] = [r["function_ms"] for r in rows]
        row["aws_span_ms_runs"] = [r["aws_span_ms"] for r in rows]
        row["aws_span_ms"] = sorted(row["aws_span_ms_runs"])[len(rows) // 2]
        cpu = sorted(r["cpu_ms"] for r in rows if r.get("cpu_ms") is not None)
        row["cpu_ms"] = cpu[len(cpu) // 2] if cpu else None
        fms = sorted(r["function_ms"] for r in rows if r["function_ms"] is not None)
        if fms:
            row["function_ms"] = fms[len(fms) // 2]
            row["function_ratio"] = round(row["function_ms"] / row["bound"]["ms"], 3)
        row["runs"] = len(rows)
        out.append(row)
    return out


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return dict(cpu=cpu, nproc=os.cpu_count(), system=f"{platform.system()} {platform.release()}")


def git_describe() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        return head + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"
