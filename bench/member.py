"""The member-role case (issue 11): N = 200, one Region, a fresh process's
first invocation with `MEMBER_ROLE_NAME` set; every outside account has the
role and a detector, so each is invited and accepted (bench/README.md,
"Regions and the member role")."""

from __future__ import annotations

from bound import LATENCY_MS, ORG_SIZE, SEED, SLOTS, MEMBER_SLOTS, member_lower_bound
from common import (ADMIN, DETECTOR, Checks, calls_ratio, case_event, invoke_measured, median_rows, peak_in_flight,
                    start_function, strategy_of, vm_hwm_kb)
from harness import Emulator

N = 200
ROLE = "GuardDutyInviterMember"
REGION = "us-east-1"


def member_detector(account: str) -> str:
    """A detector ID of the member's own (32 hex digits from its account ID)."""
    return (account * 3)[:32]


def run_member(check: Checks, seed: int = SEED) -> list[dict]:
    """The event of N accounts through a fresh process with the member
    role: the outside accounts are Removed members of the administrator's
    detector, each with the role and a detector of its own."""
    where = f"N={N}, member role"
    emu = Emulator("--large-org", str(ORG_SIZE), "--seed", str(seed), "--latency-ms", str(LATENCY_MS))
    runtime = fn = None
    try:
        event, inside, outside = case_event(emu, N, seed, ORG_SIZE)
        emu.put_members(DETECTOR, outside, "Removed")
        for account in outside:
            emu.add_member_role(account, ROLE)
            emu.add_member_detector(account, REGION, member_detector(account))
        runtime, fn = start_function(emu, {"MEMBER_ROLE_NAME": ROLE}, where, check)
        m = invoke_measured(emu, runtime, fn, {"accountIds": event})
        label = f"{where} first"
        body, recorded, counts = m["body"], m["recorded"], m["counts"]
        ok = m["status"] == 200 and isinstance(body, dict)
        check(ok, f"{label}: answered 200 ({m['status']})")
        if ok:
            check(sorted(body.get("enabledAccounts", [])) == sorted(outside),
                  f"{label}: every outside account accepted: enabledAccounts ({len(body.get('enabledAccounts', []))})")
            check(body.get("invitedAccounts") == [], f"{label}: none left only invited")
            check(sorted(s["accountId"] for s in body.get("skippedAccounts", [])) == sorted(inside),
                  f"{label}: every organization account skipped")
            check(body.get("unprocessedAccounts") == [], f"{label}: nothing unprocessed")
        assumed = [c for c in recorded if c["op"] == "AssumeRole"]
        roles_in = sorted(a for c in assumed for a in c["accounts"])
        check(roles_in == sorted(outside),
              f"{label}: one AssumeRole per outside account, none in another ({len(assumed)} calls)")
        sts_peak = peak_in_flight(assumed)
        check(sts_peak <= SLOTS, f"{label}: at most {SLOTS} AssumeRole calls in flight (saw {sts_peak})")
        member_calls = [c for c in recorded if c["service"] == "guardduty" and c["account"] != ADMIN]
        member_peak = peak_in_flight(member_calls)
        check(member_peak <= MEMBER_SLOTS,
              f"{label}: at most {MEMBER_SLOTS} member-side calls in flight (saw {member_peak})")
        ops: dict[str, int] = {}
        for c in member_calls:
            ops[c["op"]] = ops.get(c["op"], 0) + 1
        check(ops.get("ListDetectors", 0) == len(outside), f"{label}: one member ListDetectors per account")
        check(ops.get("AcceptAdministratorInvitation", 0) == len(outside), f"{label}: one accept per account")
        check(ops.get("CreateDetector", 0) == 0, f"{label}: no member detector created")
        check(all(emu.administrator_of(a, REGION) == ADMIN for a in outside[:5]),
              f"{label}: the members' administrator is the function's account (first five read back)")
        org_calls = counts.get("DescribeAccount", 0) + counts.get("ListAccounts", 0)
        bound = member_lower_bound(N, len(outside))
        elapsed = m["summary"].get("elapsed_ms")
        row = dict(
            n=N, phase="first", empty_pages=0, half_enabled=False, org_size=ORG_SIZE, regions=1, member_role=True,
            wall_ms=round(m["wall_ms"], 1), function_ms=elapsed, aws_span_ms=m["aws_span_ms"], cpu_ms=m["cpu_ms"],
            bound=bound, ratio=round(m["wall_ms"] / bound["ms"], 3),
            function_ratio=round(elapsed / bound["ms"], 3) if elapsed is not None else None,
            calls=counts, org_calls=org_calls, calls_ratio=calls_ratio(org_calls, bound["org_calls"]),
            max_in_flight=m["in_flight"], sts_max_in_flight=sts_peak, member_max_in_flight=member_peak,
            member_calls=ops, function_calls=m["summary"].get("calls"),
            function_max_in_flight=m["summary"].get("max_in_flight"), strategy=strategy_of(counts),
        )
        row["peak_rss_kb"] = vm_hwm_kb(fn.proc.pid)
        return [row]
    finally:
        for part in (fn, runtime, emu):
            if part:
                part.stop()


def run_member_cases(check: Checks, repeat: int) -> list[dict]:
    """`repeat` fresh processes; the median row."""
    return median_rows([run_member(check) for _ in range(repeat)])
