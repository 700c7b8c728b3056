"""The benchmark's settings and its lower bound: the fewest sequential round
trips an invocation needs, and the Organizations calls of the strategy that
reaches it (bench/README.md, "The lower bound")."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LATENCY_MS = 20
ORG_SIZE = 2000  # the organization of the extra cases (empty pages, Enabled members)
ORG_SIZES = (100, 2000, 5000)
SIZES = (10, 200, 1000)


def rust_const(path: str, name: str) -> int:
    """The integer constant `pub const NAME: TYPE = N;` of the function's Rust
    source: the one place the figure is set, read rather than copied here."""
    source = (ROOT / path).read_text()
    found = re.findall(rf"^pub const {name}: \w+ = ([0-9_]+);$", source, re.MULTILINE)
    if len(found) != 1:
        sys.exit(f"bench: expected one line `pub const {name}: <type> = <integer>;` in {path}, found {len(found)}")
    return int(found[0].replace("_", ""))


SLOTS = rust_const("src/config.rs", "DEFAULT_MAX_CALLS_IN_FLIGHT")  # calls in flight per service
BATCH = rust_const("src/plan/pipeline/machine.rs", "BATCH")  # InviteMembers accounts per call
PAGE = rust_const("src/aws/organizations.rs", "LIST_PAGE")  # ListAccounts page size
SEED = 42
TARGET_RATIO = 1.3
RSS_TARGET_MB = 32
COLD_TARGET_RATIO = 1.2
SIZE_TARGET_MB = 10


# --------------------------------------------------------------- lower bound


def lower_bound(n: int, outside: int, warm: bool, org_size: int = ORG_SIZE, empty_pages: int = 0) -> dict:
    """The fewest sequential round trips the work needs, × LATENCY_MS, and
    the Organizations calls (`org_calls`) of the strategy that reaches it.

    Two services side by side, SLOTS calls in flight each. GuardDuty:
    ListDetectors (1 round, first invocation only) and ceil(outside/BATCH)
    InviteMembers calls, SLOTS at a time. Organizations, the cheaper of
      describe: ceil(n/SLOTS) rounds of DescribeAccount; invitations are
                pipelined behind the lookups (a batch goes out as soon as its
                accounts are known), so only the last batch is a tail: 1 round;
      list:     `pages` strictly sequential ListAccounts pages of PAGE (empty
                pages included); an account is outside only once the last
                page is read, so every invitation waits:
                ceil(ceil(outside/BATCH)/SLOTS) rounds after it.
    Warm: what the process already knows (organization, detector) is free.
    """
    invites = math.ceil(outside / BATCH)
    invite_rounds = math.ceil(invites / SLOTS)
    pages = math.ceil(org_size / PAGE)
    if empty_pages:
        pages += pages // empty_pages
    detector_rounds = 0 if warm else 1
    if warm:
        # Read the outside accounts' member records, then invite: each invite
        # after its read, reads and invites sharing the GuardDuty slots.
        reads = math.ceil(outside / BATCH)
        rounds = guardduty_rounds(reads, invites)
        parts = dict(org_rounds=0, detector_rounds=0, read_calls=reads, invite_calls=invites,
                     invite_rounds=invite_rounds, org_calls=0,
                     model="warm: organizations and detector known; reads, then invites")
    else:
        # The fastest a clairvoyant strategy could go: ListDetectors at once,
        # every account's record read side by side with the lookup.
        reads = math.ceil(n / BATCH)
        read_rounds = math.ceil(reads / SLOTS)
        describe_rounds = math.ceil(n / SLOTS)
        tail = 1 if invites else 0
        gd_rounds = detector_rounds + guardduty_rounds(reads, invites)
        by_describe = max(max(describe_rounds, detector_rounds + read_rounds) + tail, gd_rounds)
        by_list = max(pages, detector_rounds + read_rounds) + invite_rounds
        rounds = min(by_describe, by_list)
        parts = dict(
            describe_rounds=describe_rounds, pages=pages, detector_rounds=detector_rounds,
            read_calls=reads, invite_calls=invites, invite_rounds=invite_rounds,
            rounds_by_describe=by_describe, rounds_by_list=by_list,
            model=("describe" if by_describe <= by_list else "list"),
            # One DescribeAccount per account, or every page (empty ones too).
            org_calls=(n if by_describe <= by_list else pages),
        )
    return dict(rounds=rounds, ms=rounds * LATENCY_MS, **parts)


def guardduty_rounds(reads: int, invites: int) -> int:
    """Rounds for `reads` GetMembers then `invites` InviteMembers through SLOTS
    slots: every call needs a slot, and no invite goes before the first read
    has answered."""
    if not invites:
        return math.ceil(reads / SLOTS)
    return max(math.ceil((reads + invites) / SLOTS), 1 + math.ceil(invites / SLOTS))


def bound_formula(b: dict) -> str:
    if "rounds_by_describe" not in b:
        return f"ceil(({b['read_calls']} reads + {b['invite_calls']} invites)/{SLOTS}) = {b['rounds']} rounds"
    return (
        f"min(describe: max(ceil(U/{SLOTS})={b['describe_rounds']}, ListDetectors {b['detector_rounds']}) + 1 tail"
        f" = {b['rounds_by_describe']}; list: {b['pages']} pages + ceil({b['invite_calls']} invites/{SLOTS})"
        f" = {b['rounds_by_list']}) = {b['rounds']} rounds"
    )
