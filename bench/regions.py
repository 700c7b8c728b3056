"""The Region cases (issue 10): the same 200-account event in 1 and in 4
Regions (`"regions"` in the event), first and warm, fresh processes taken in
turns; what four Regions cost against one (bench/README.md, "Regions and
the member role")."""

from __future__ import annotations

import math
import statistics

from bound import BATCH, LATENCY_MS, ORG_SIZE, PAGE, SEED, SLOTS, lower_bound
from common import (ADMIN, DETECTOR, Checks, calls_ratio, case_event, invoke_measured, json_records, median_rows,
                    start_function, strategy_of, vm_hwm_kb)
from harness import Emulator

# Four Regions the emulator's default list has ENABLED_BY_DEFAULT (GuardDuty
# refuses the DISABLED, opt-in ones); the first is the function's own.
REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2")
REGION_COUNTS = (1, len(REGIONS))
N = 200
RSS_GOAL_MB = 16


def region_detector(i: int) -> str:
    """The administrator's detector in REGIONS[i]: us-east-1 keeps the
    bench's DETECTOR, the others differ in the last two digits."""
    return DETECTOR if i == 0 else DETECTOR[:-2] + f"{i:02x}"


def by_region(recorded: list[dict], service: str) -> dict[str, dict[str, int]]:
    """Per Region, the administrator's calls of `service` by operation."""
    out: dict[str, dict[str, int]] = {}
    for c in recorded:
        if c["service"] == service and c["account"] == ADMIN:
            ops = out.setdefault(c["region"], {})
            ops[c["op"]] = ops.get(c["op"], 0) + 1
    return out


def emf_records(log: str) -> list[dict]:
    """The embedded-metric-format records the function printed."""
    return [v for v in json_records(log) if "_aws" in v]


def check_answer(body: dict, regions: tuple[str, ...], inside: list[str], outside: list[str], where: str,
                 check: Checks) -> None:
    """The multi-Region answer: every Region in order, its detector, the
    outside accounts invited, the organization's skipped, nothing else."""
    got = [r.get("region") for r in body.get("regions", [])]
    check(got == list(regions), f"{where}: one answer per Region, in the event's order ({got})")
    for i, r in enumerate(body.get("regions", [])):
        name = r.get("region")
        check(r.get("detectorId") == region_detector(i), f"{where}: {name}'s own detector")
        check(sorted(r.get("invitedAccounts", [])) == sorted(outside), f"{where}: {name}: every outside account invited")
        check(sorted(s["accountId"] for s in r.get("skippedAccounts", [])) == sorted(inside)
              and all(s["code"] == "ORGANIZATION_MEMBER" for s in r.get("skippedAccounts", [])),
              f"{where}: {name}: every organization account skipped, ORGANIZATION_MEMBER")
        check(r.get("unprocessedAccounts") == [], f"{where}: {name}: nothing unprocessed")


def check_invitations(recorded: list[dict], regions: tuple[str, ...], outside: list[str], where: str,
                      check: Checks) -> None:
    """Each outside account invited once per Region, with the e-mail in the
    first Region only (the emulator records each InviteMembers call's
    `disableEmailNotification`; null means not said: the e-mail goes)."""
    invited: dict[str, list[str]] = {a: [] for a in outside}
    mailed: dict[str, list[str]] = {a: [] for a in outside}
    for c in recorded:
        if c["op"] == "InviteMembers":
            for a in c["accounts"]:
                invited.setdefault(a, []).append(c["region"])
                if c["disableEmailNotification"] is not True:
                    mailed.setdefault(a, []).append(c["region"])
    check(all(sorted(v) == sorted(regions) for v in invited.values()) and len(invited) == len(outside),
          f"{where}: every outside account invited once in each Region, no other")
    wrong = [a for a, v in mailed.items() if v != [regions[0]]]
    check(not wrong, f"{where}: every account invited with the e-mail in exactly one Region, the first "
                     f"({len(wrong)} not, e.g. {wrong[:1]}: {mailed.get(wrong[0]) if wrong else ''})")


def run_regions(count: int, check: Checks, seed: int = SEED) -> list[dict]:
    """The event of N accounts in the first `count` REGIONS through a fresh
    process, first and warm; the outside accounts are Removed members of
    every Region's detector before each invocation."""
    regions = REGIONS[:count]
    where = f"N={N}, {count} Region{'s' if count > 1 else ''}"
    emu = Emulator("--large-org", str(ORG_SIZE), "--seed", str(seed), "--latency-ms", str(LATENCY_MS))
    runtime = fn = None
    try:
        event, inside, outside = case_event(emu, N, seed, ORG_SIZE)
        status = {r["regionName"]: r["regionOptStatus"] for r in emu.regions()["regions"]}
        check(all(status.get(r) == "ENABLED_BY_DEFAULT" for r in regions),
              f"{where}: the Regions are ENABLED_BY_DEFAULT in the emulator ({[status.get(r) for r in regions]})")
        runtime, fn = start_function(emu, {}, where, check)
        rows = []
        for phase in ("first", "warm"):
            for i, region in enumerate(regions):
                emu.put_members(region_detector(i), outside, "Removed", region=region)
            m = invoke_measured(emu, runtime, fn, {"accountIds": event, "regions": list(regions)})
            label = f"{where} {phase}"
            warm = phase == "warm"
            counts, in_flight, recorded = m["counts"], m["in_flight"], m["recorded"]
            check(m["status"] == 200 and isinstance(m["body"], dict), f"{label}: answered 200 ({m['status']})")
            if m["status"] == 200 and isinstance(m["body"], dict):
                check_answer(m["body"], regions, inside, outside, label, check)
            check_invitations(recorded, regions, outside, label, check)
            gd = by_region(recorded, "guardduty")
            check(sorted(gd) == sorted(regions), f"{label}: GuardDuty called in each Region, no other ({sorted(gd)})")
            for region in regions:
                ops = gd.get(region, {})
                check(ops.get("InviteMembers", 0) == math.ceil(len(outside) / BATCH),
                      f"{label}: {region}: ceil({len(outside)}/{BATCH}) InviteMembers ({ops.get('InviteMembers', 0)})")
                check(ops.get("ListDetectors", 0) == (0 if warm else 1),
                      f"{label}: {region}: {'no' if warm else 'one'} ListDetectors ({ops.get('ListDetectors', 0)})")
                peak = in_flight.get(f"guardduty:{region}", 0)
                check(peak <= SLOTS, f"{label}: at most {SLOTS} GuardDuty calls in flight in {region} (saw {peak})")
            check(in_flight.get("organizations", 0) <= SLOTS,
                  f"{label}: at most {SLOTS} Organizations calls in flight (saw {in_flight.get('organizations')})")
            check(all(c["region"] == REGIONS[0] for c in recorded if c["service"] == "organizations"),
                  f"{label}: Organizations asked in the function's own Region only")
            org_calls = counts.get("DescribeAccount", 0) + counts.get("ListAccounts", 0)
            described = [a for c in recorded if c["op"] == "DescribeAccount" for a in c["accounts"]]
            check(len(described) == len(set(described)), f"{label}: no account described twice")
            if warm:
                check(org_calls == 0, f"{label}: zero Organizations calls (saw {org_calls})")
            else:
                pages = math.ceil(ORG_SIZE / PAGE)
                check(counts.get("ListAccounts", 0) <= pages, f"{label}: no more ListAccounts than pages")
            records = emf_records(fn.logs())[-count:]
            check([r.get("Region") for r in records] == list(regions),
                  f"{label}: one metrics record per Region ({[r.get('Region') for r in records]})")
            check(sum(r.get("AwsCalls", 0) for r in records) == sum(counts.values()),
                  f"{label}: the records' AwsCalls add up to the calls the emulator saw")
            bound = lower_bound(N, len(outside), warm, org_size=ORG_SIZE)
            elapsed = m["summary"].get("elapsed_ms")
            rows.append(dict(
                n=N, phase=phase, empty_pages=0, half_enabled=False, org_size=ORG_SIZE, regions=count,
                wall_ms=round(m["wall_ms"], 1), function_ms=elapsed, aws_span_ms=m["aws_span_ms"], cpu_ms=m["cpu_ms"],
                bound=bound, ratio=round(m["wall_ms"] / bound["ms"], 3),
                function_ratio=round(elapsed / bound["ms"], 3) if elapsed is not None else None,
                calls=counts, org_calls=org_calls, calls_ratio=calls_ratio(org_calls, bound["org_calls"]),
                max_in_flight=in_flight, gd_max_in_flight=max(in_flight.get(f"guardduty:{r}", 0) for r in regions),
                gd_calls_by_region=gd, function_calls=m["summary"].get("calls"),
                function_max_in_flight=m["summary"].get("max_in_flight"), strategy=strategy_of(counts),
            ))
        hwm = vm_hwm_kb(fn.proc.pid)
        for r in rows:
            r["peak_rss_kb"] = hwm
        return rows
    finally:
        for part in (fn, runtime, emu):
            if part:
                part.stop()


def gd_calls(row: dict) -> int:
    return sum(n for ops in row["gd_calls_by_region"].values() for n in ops.values())


def compare_runs(one: list[dict], many: list[dict], label: str, check: Checks) -> None:
    """One 1-Region and one 4-Region process, taken one after the other:
    Organizations asked as often, GuardDuty exactly 4 × as often."""
    k = len(REGIONS)
    for a, b in zip(one, many):
        where = f"{label} {a['phase']}"
        # One lookup for every Region: the same describes; the listing runs
        # beside them until they are done, and whether its next page was
        # asked by then is timing, so the two processes may differ by one
        # page either way (seen both ways round). The median rows are
        # compared exactly in the report.
        da, db = a["calls"].get("DescribeAccount", 0), b["calls"].get("DescribeAccount", 0)
        la, lb = a["calls"].get("ListAccounts", 0), b["calls"].get("ListAccounts", 0)
        check(da == db and abs(la - lb) <= 1,
              f"{where}: Organizations calls with {k} Regions as with 1 Region: DescribeAccount {db} vs {da}, "
              f"ListAccounts {lb} vs {la} (at most one page apart)")
        check(gd_calls(b) == k * gd_calls(a),
              f"{where}: GuardDuty calls with {k} Regions exactly {k} × 1 Region ({gd_calls(b)} vs {gd_calls(a)})")


def run_region_cases(check: Checks, repeat: int) -> tuple[list[dict], dict]:
    """`repeat` fresh processes of each Region count, in turns (so drift hits
    both alike); the median rows, and the 4-Region figures against 1."""
    runs: dict[int, list[list[dict]]] = {c: [] for c in REGION_COUNTS}
    for k in range(repeat):
        order = REGION_COUNTS if k % 2 == 0 else tuple(reversed(REGION_COUNTS))
        got = {count: run_regions(count, check) for count in order}
        compare_runs(got[1], got[len(REGIONS)], f"Regions, process pair {k + 1}", check)
        for count, rows in got.items():
            runs[count].append(rows)
    rows = {c: median_rows(runs[c]) for c in REGION_COUNTS}
    for c in REGION_COUNTS:
        for r in rows[c]:
            r["peak_rss_kb_runs"] = [run[0]["peak_rss_kb"] for run in runs[c]]
    return rows[1] + rows[len(REGIONS)], comparison(rows[1], rows[len(REGIONS)], runs)


def comparison(one: list[dict], many: list[dict], runs: dict[int, list[list[dict]]]) -> dict:
    """Per invocation: the 4-Region medians over the 1-Region medians (wall,
    fastest wall, function), the calls of each, the most GuardDuty calls in
    flight in any one Region, and the peak RSS of every 4-Region process."""
    out = {}
    for i, (a, b) in enumerate(zip(one, many)):
        out[a["phase"]] = dict(
            wall_ms=(a["wall_ms"], b["wall_ms"]), wall_ratio=round(b["wall_ms"] / a["wall_ms"], 3),
            best_wall_ms=(min(a["wall_ms_runs"]), min(b["wall_ms_runs"])),
            best_wall_ratio=round(min(b["wall_ms_runs"]) / min(a["wall_ms_runs"]), 3),
            function_ms=(a["function_ms"], b["function_ms"]),
            function_ratio=round(b["function_ms"] / a["function_ms"], 3),
            org_calls=(a["org_calls"], b["org_calls"]), gd_calls=(gd_calls(a), gd_calls(b)),
            describes=(a["calls"].get("DescribeAccount", 0), b["calls"].get("DescribeAccount", 0)),
            pages=(a["calls"].get("ListAccounts", 0), b["calls"].get("ListAccounts", 0)),
            gd_max_in_flight_per_region=max(r[i]["gd_max_in_flight"] for r in runs[len(REGIONS)]),
            function_ms_runs=(a["function_ms_runs"], b["function_ms_runs"]),
            peak_rss_kb=max(r[i]["peak_rss_kb"] for r in runs[len(REGIONS)]),
            median_pair_wall_ratio=round(statistics.median(
                y["wall_ms"] / x["wall_ms"] for x, y in zip((r[i] for r in runs[1]), (r[i] for r in runs[len(REGIONS)]))
            ), 3),
        )
    return dict(regions=list(REGIONS), n=N, org_size=ORG_SIZE, rss_goal_mb=RSS_GOAL_MB, phases=out)
