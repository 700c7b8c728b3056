#!/usr/bin/env python3
"""The benchmark: the release `bootstrap` as Lambda runs it (a real Runtime
API loop, `cargo lambda watch --only-lambda-apis`), against the project's
emulator with a fixed 20 ms per AWS call and organizations of 100, 2,000
and 5,000 accounts. See bench/README.md for what is measured and how the
lower bound is computed.

    bench/bench.py                      # everything; writes bench/results.{json,md}
    bench/bench.py coldstart --bootstrap B --hello H [--starts 15]
    bench/bench.py size --bootstrap B

Timings are reported, never asserted. The AWS-call counts are checked and a
failed check makes the exit status 1."""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests/e2e"))

from bound import BATCH, LATENCY_MS, ORG_SIZE, ORG_SIZES, PAGE, SEED, SIZES, SLOTS, lower_bound  # noqa: E402
from coldstart import cold_start, sizes  # noqa: E402
from common import (DETECTOR, Checks, calls_ratio, case_event, git_describe, invoke_measured, machine,  # noqa: E402
                    median_rows, start_function, strategy_of, vm_hwm_kb)
from harness import BOOTSTRAP, ROOT, Emulator, Function, RuntimeApi  # noqa: E402
from member import run_member_cases  # noqa: E402
from regions import run_region_cases  # noqa: E402
from report import (bounds_text, case_targets, footer, markdown, region_targets, regions_text,  # noqa: E402
                    table, targets)

HELLO = Path(os.environ.get("INVITER_HELLO", ROOT / "target/release/hello"))

# --------------------------------------------------------------------- cases


def run_case(n: int, check: Checks, empty_pages: int = 0, seed: int = SEED, half_enabled: bool = False,
             org_size: int = ORG_SIZE, detector_given: bool = False) -> dict:
    """One event of `n` accounts, half of them in an organization of
    `org_size` (as many as it holds, if fewer), through a fresh process,
    first and warm. `half_enabled`: every second outside account is an
    Enabled member already (nothing to do for it), the others Removed.
    `detector_given`: the function is deployed with GUARDDUTY_DETECTOR_ID."""
    emu = Emulator("--large-org", str(org_size), "--seed", str(seed), "--latency-ms", str(LATENCY_MS))
    runtime = fn = None
    try:
        event, inside, outside = case_event(emu, n, seed, org_size)
        label = f"org {org_size}, N={n}" if org_size != ORG_SIZE else f"N={n}"
        enabled = outside[::2] if half_enabled else []
        removed = [a for a in outside if a not in set(enabled)]
        if enabled:
            emu.control("POST", "members", {"detectorId": DETECTOR, "accountIds": enabled, "status": "Enabled"})
        if empty_pages:
            emu.control("POST", "empty-pages", {"every": empty_pages})
        if detector_given:
            label += " (detector given)"
        env = {"GUARDDUTY_DETECTOR_ID": DETECTOR} if detector_given else {}
        runtime, fn = start_function(emu, env, label, check)
        rows = []
        for phase in ("first", "warm"):
            # The same work in both phases: the outside accounts are Removed
            # members again (the first run left them Invited, which a re-run
            # rightly skips).
            emu.control("POST", "members", {"detectorId": DETECTOR, "accountIds": removed, "status": "Removed"})
            m = invoke_measured(emu, runtime, fn, {"accountIds": event})
            status, body, recorded, summary = m["status"], m["body"], m["recorded"], m["summary"]
            counts, in_flight = m["counts"], m["in_flight"]
            warm = phase == "warm"
            bound = lower_bound(n, len(removed), warm, org_size=org_size, empty_pages=empty_pages,
                                detector_given=detector_given)
            ok = status == 200 and isinstance(body, dict)
            check(ok, f"{label} {phase}: invocation answered 200 ({status})")
            if ok:
                check(sorted(body["invitedAccounts"]) == sorted(removed),
                      f"{label} {phase}: every outside Removed account invited")
                check(sorted(s["accountId"] for s in body["skippedAccounts"]) == sorted(inside + enabled),
                      f"{label} {phase}: every organization account and every Enabled member skipped")
                check(all(s["code"] == ("ALREADY_ENABLED" if s["accountId"] in set(enabled) else "ORGANIZATION_MEMBER")
                          for s in body["skippedAccounts"]), f"{label} {phase}: skipped with the right codes")
                check(body["unprocessedAccounts"] == [], f"{label} {phase}: nothing unprocessed")
            written = {a for c in recorded if c["op"] in ("CreateMembers", "DeleteMembers", "InviteMembers")
                       for a in c["accounts"]}
            check(not written & set(enabled), f"{label} {phase}: no write call names an Enabled member")
            invites = math.ceil(len(removed) / BATCH)
            reads = counts.get("GetMembers", 0)
            # Every account not known to be in the organization is read, in
            # batches of 50: the outside ones at least, all of them at most.
            check(math.ceil(len(outside) / BATCH) <= reads <= math.ceil(n / BATCH),
                  f"{label} {phase}: GetMembers between ceil(outside/50) and ceil(N/50) (saw {reads})")
            if warm:
                check(reads == math.ceil(len(outside) / BATCH),
                      f"{label} warm: GetMembers only for the outside accounts (saw {reads})")
            for op in ("CreateMembers", "DeleteMembers"):
                check(counts.get(op, 0) == 0, f"{label} {phase}: no {op} for Removed members")
            org_calls = counts.get("DescribeAccount", 0) + counts.get("ListAccounts", 0)
            check(counts.get("InviteMembers", 0) == invites,
                  f"{label} {phase}: exactly ceil({len(removed)}/{BATCH}) = {invites} InviteMembers "
                  f"(saw {counts.get('InviteMembers', 0)})")
            for service in ("guardduty", "organizations"):
                check(in_flight.get(service, 0) <= SLOTS,
                      f"{label} {phase}: at most {SLOTS} {service} calls in flight (saw {in_flight.get(service)})")
            if warm:
                check(org_calls == 0, f"{label} warm: zero Organizations calls (saw {org_calls})")
                check(counts.get("ListDetectors", 0) == 0, f"{label} warm: no ListDetectors")
            else:
                detectors = 0 if detector_given else 1
                check(counts.get("ListDetectors", 0) == detectors, f"{label} first: {detectors} ListDetectors")
                pages = bound["pages"]
                check(counts.get("ListAccounts", 0) <= pages,
                      f"{label} first: no more ListAccounts than pages ({counts.get('ListAccounts', 0)} <= {pages})")
                if bound["model"] == "describe" and bound["describe_rounds"] <= 2:
                    check(counts.get("ListAccounts", 0) == 0, f"{label} first: describes only for a small event")
            wall_ms = m["wall_ms"]
            elapsed = summary.get("elapsed_ms")
            rows.append(dict(
                n=n, phase=phase, empty_pages=empty_pages, half_enabled=half_enabled, org_size=org_size,
                detector_given=detector_given,
                wall_ms=round(wall_ms, 1),
                function_ms=elapsed,
                aws_span_ms=m["aws_span_ms"],
                cpu_ms=m["cpu_ms"],
                bound=bound,
                ratio=round(wall_ms / bound["ms"], 3) if bound["ms"] else None,
                function_ratio=round(elapsed / bound["ms"], 3) if (elapsed is not None and bound["ms"]) else None,
                calls=counts,
                org_calls=org_calls,
                calls_ratio=calls_ratio(org_calls, bound["org_calls"]),
                max_in_flight=in_flight,
                function_calls=summary.get("calls"),
                function_max_in_flight=summary.get("max_in_flight"),
                strategy=strategy_of(counts),
            ))
        hwm = vm_hwm_kb(fn.proc.pid)
        for r in rows:
            r["peak_rss_kb"] = hwm
        return dict(rows=rows, peak_rss_kb=hwm)
    finally:
        for part in (fn, runtime, emu):
            if part:
                part.stop()


def runtime_overhead(hello: Path, invokes: int = 30) -> dict:
    """What the Runtime API path costs on its own: harness wall time of
    invoking the hello echo function (no AWS call) under the same
    `cargo lambda watch`, median of warm invocations."""
    runtime = fn = None
    try:
        runtime = RuntimeApi()
        fn = Function(runtime, "http://127.0.0.1:9", bootstrap=hello)
        time.sleep(0.5)
        runtime.invoke({"accountIds": ["111111111111"]})
        times = [runtime.invoke({"accountIds": ["111111111111"]})[2] * 1000.0 for _ in range(invokes)]
    finally:
        for part in (fn, runtime):
            if part:
                part.stop()
    ranked = sorted(times)
    return dict(median_ms=round(statistics.median(times), 2), min_ms=round(ranked[0], 2),
                p90_ms=round(ranked[int(0.9 * (len(ranked) - 1))], 2), max_ms=round(ranked[-1], 2),
                invokes=invokes)


def update_readme(out: Path, md: str) -> None:
    """Puts the latest results between the markers of bench/README.md."""
    readme = out / "README.md"
    if not readme.exists():
        return
    text = readme.read_text()
    start = text.find("<!-- results:start")
    end = text.find("<!-- results:end -->")
    if start < 0 or end < 0:
        return
    start = text.index("\n", start) + 1
    readme.write_text(text[:start] + md.strip() + "\n" + text[end:])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", nargs="?", default="all", choices=("all", "coldstart", "size", "cases", "regions", "render"))
    ap.add_argument("--bootstrap", type=Path, default=BOOTSTRAP)
    ap.add_argument("--hello", type=Path, default=HELLO)
    ap.add_argument("--starts", type=int, default=25)
    ap.add_argument("--repeat", type=int, default=5, help="fresh processes per event size (median shown)")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--orgs", default=",".join(map(str, ORG_SIZES)), help="organization sizes (accounts)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    check = Checks()
    if args.what == "render":  # re-print and re-write results.md from results.json
        results = json.loads((args.out / "results.json").read_text())
        print(markdown(results))
        (args.out / "results.md").write_text(markdown(results))
        update_readme(args.out, markdown(results))
        return 0
    if args.what == "coldstart":
        print(json.dumps(cold_start(args.bootstrap, args.hello, args.starts, check), indent=1))
        return 0
    if args.what == "size":
        print(json.dumps(sizes(args.bootstrap), indent=1))
        return 0
    import harness  # Function reads harness.BOOTSTRAP when it starts a process

    harness.BOOTSTRAP = args.bootstrap

    cases = []
    org_sizes = [int(x) for x in args.orgs.split(",")]
    for org_size in (org_sizes if args.what != "regions" else []):
        for n in (int(x) for x in args.sizes.split(",")):
            print(f"case org {org_size}, N={n} ({args.repeat} fresh processes) ...", file=sys.stderr)
            runs = [run_case(n, check, org_size=org_size)["rows"] for _ in range(args.repeat)]
            cases += median_rows(runs)
    if args.what == "all":
        print("case N=1000 with an empty ListAccounts page before every 2nd page (correctness) ...", file=sys.stderr)
        cases += run_case(1000, check, empty_pages=2)["rows"]
        print("case N=200 with half the outside accounts Enabled members already ...", file=sys.stderr)
        cases += median_rows([run_case(200, check, half_enabled=True)["rows"] for _ in range(3)])
        print("case org 100, N=200 with GUARDDUTY_DETECTOR_ID set (no probe) ...", file=sys.stderr)
        cases += median_rows([run_case(200, check, org_size=100, detector_given=True)["rows"] for _ in range(3)])
    extra = {}
    if args.what in ("all", "regions"):
        print(f"Regions: N=200 in 1 and 4 Regions ({args.repeat} fresh processes each, in turns) ...", file=sys.stderr)
        extra["region_cases"], extra["regions"] = run_region_cases(check, args.repeat)
        print("member role: N=200, first invocation (3 fresh processes) ...", file=sys.stderr)
        extra["member_cases"] = run_member_cases(check, 3)
    overhead = runtime_overhead(args.hello)
    results = dict(
        runtime_api_overhead=overhead,
        when=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        machine=machine(),
        bootstrap=str(args.bootstrap),
        source=git_describe(),
        settings=dict(latency_ms=LATENCY_MS, org_size=ORG_SIZE, org_sizes=org_sizes, slots=SLOTS, batch=BATCH,
                      page=PAGE, seed=SEED),
        cases=cases,
        **extra,
    )
    if args.what == "all":
        print("cold start ...", file=sys.stderr)
        results["cold_start"] = cold_start(args.bootstrap, args.hello, args.starts, check)
        results["sizes"] = sizes(args.bootstrap)
    results["checks"] = dict(passed=check.passed, failed=check.failed)
    print(table(results))
    print()
    print(bounds_text(results))
    if extra:
        print()
        print(regions_text(results))
    if args.what in ("cases", "regions"):
        print()
        for t, ok, v in (case_targets(results) if args.what == "cases" else region_targets(results)):
            print(f"{'HOLDS' if ok else 'MISSES'}  {t}: {v}")
    if args.what == "all":
        print()
        print(footer(results))
        print()
        for t, ok, v in targets(results):
            print(f"{'HOLDS' if ok else 'MISSES'}  {t}: {v}")
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
        (args.out / "results.md").write_text(markdown(results))
        update_readme(args.out, markdown(results))
        print(f"\nwrote {args.out / 'results.json'}, {args.out / 'results.md'} and the table in "
              f"{args.out / 'README.md'}")
    if check.failed:
        print(f"\n{len(check.failed)} check(s) failed:", *check.failed, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
