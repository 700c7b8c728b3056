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
# Member-side GuardDuty calls in flight across every member account and Region, per slot.
MEMBER_SLOTS = SLOTS * rust_const("src/plan/options.rs", "MEMBER_CALLS_PER_SLOT")
SEED = 42
TARGET_RATIO = 1.3
RSS_TARGET_MB = 32
COLD_TARGET_RATIO = 1.2
SIZE_TARGET_MB = 10


# --------------------------------------------------------------- lower bound


def lower_bound(n: int, outside: int, warm: bool, org_size: int = ORG_SIZE, empty_pages: int = 0,
                detector_given: bool = False) -> dict:
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
    `detector_given` (GUARDDUTY_DETECTOR_ID): no ListDetectors, and the
    contract's floor is the bound.
    """
    invites = math.ceil(outside / BATCH)
    invite_rounds = math.ceil(invites / SLOTS)
    pages = math.ceil(org_size / PAGE)
    if empty_pages:
        pages += pages // empty_pages
    detector_rounds = 0 if warm or detector_given else 1
    if warm:
        # Read the outside accounts' member records, then invite: each invite
        # after its read, reads and invites sharing the GuardDuty slots.
        reads = math.ceil(outside / BATCH)
        rounds = guardduty_rounds(reads, invites)
        parts = dict(floor_rounds=rounds, floor_ms=rounds * LATENCY_MS,
                     org_rounds=0, detector_rounds=0, read_calls=reads, invite_calls=invites,
                     invite_rounds=invite_rounds, org_calls=0,
                     model="warm: organizations and detector known; reads, then invites")
    else:
        # The fastest a clairvoyant strategy could go: ListDetectors at once,
        # every account's record read side by side with the lookup.
        reads = math.ceil(n / BATCH)
        describe_rounds = math.ceil(n / SLOTS)
        by_describe, by_list = first_rounds(describe_rounds, pages, detector_rounds, reads, invites)
        rounds = min(by_describe, by_list)
        # The contract's floor: ListDetectors only once an Organizations
        # answer has shown an account outside (SPEC.md: the detector is
        # looked up only when some account needs it), so a round later.
        later = 1 if invites and detector_rounds else 0
        floor = min(first_rounds(describe_rounds, pages, detector_rounds + later, reads, invites))
        parts = dict(
            floor_rounds=floor, floor_ms=floor * LATENCY_MS,
            describe_rounds=describe_rounds, pages=pages, detector_rounds=detector_rounds,
            read_calls=reads, invite_calls=invites, invite_rounds=invite_rounds,
            rounds_by_describe=by_describe, rounds_by_list=by_list,
            model=("describe" if by_describe <= by_list else "list"),
            # One DescribeAccount per account, or every page (empty ones too).
            org_calls=(n if by_describe <= by_list else pages),
        )
    return dict(rounds=rounds, ms=rounds * LATENCY_MS, **parts)


def first_rounds(describe_rounds: int, pages: int, detector_rounds: int, reads: int, invites: int) -> tuple[int, int]:
    """A first invocation's rounds by describing and by listing, with the
    detector known after `detector_rounds` and every account's record read
    side by side with the lookup (lower_bound())."""
    read_rounds = math.ceil(reads / SLOTS)
    tail = 1 if invites else 0
    gd_rounds = detector_rounds + guardduty_rounds(reads, invites)
    by_describe = max(max(describe_rounds, detector_rounds + read_rounds) + tail, gd_rounds)
    by_list = max(pages, detector_rounds + read_rounds) + math.ceil(invites / SLOTS)
    return by_describe, by_list


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


def member_lower_bound(n: int, outside: int, org_size: int = ORG_SIZE) -> dict:
    """The first invocation with a member role (one Region): the lookup as
    lower_bound() models it, then each outside account's chain AssumeRole,
    the member's ListDetectors, the administrator's InviteMembers (the
    fewest: ceil(outside/BATCH), as lower_bound() counts them), the member's
    ListInvitations and AcceptAdministratorInvitation, one round each. STS
    has SLOTS calls in flight, the member side MEMBER_SLOTS. For each lookup
    strategy, the larger of
      chain: the last outside account is known in round `last` (describe:
             ceil(n/SLOTS); list: every page), then AssumeRole, ListDetectors
             and its invitation, and the tail: the last invitation's `b`
             accounts (the rest after full batches) each make two member
             calls after it, MEMBER_SLOTS at a time: max(2, ceil(2b/MEMBER_SLOTS));
      STS:   the first outside account is known in round `first` (describe: 1;
             list: every page), the AssumeRoles take ceil(outside/SLOTS)
             rounds, then ListDetectors, the invitation and the tail;
    and the cheaper strategy counts."""
    base = lower_bound(n, outside, False, org_size=org_size)
    invites = math.ceil(outside / BATCH)
    last_batch = outside - BATCH * (invites - 1) if invites else 0
    tail = max(2, math.ceil(2 * last_batch / MEMBER_SLOTS)) if outside else 0
    sts_rounds = math.ceil(outside / SLOTS)
    by = {}
    for model, last, first in (("describe", base["describe_rounds"], 1), ("list", base["pages"], base["pages"])):
        chain = last + 3 + tail
        sts = first + sts_rounds + 2 + tail
        by[model] = dict(last=last, first=first, chain=chain, sts=sts, rounds=max(chain, sts, base[f"rounds_by_{model}"]))
    model = min(by, key=lambda m: by[m]["rounds"])
    rounds = by[model]["rounds"]
    return dict(rounds=rounds, ms=rounds * LATENCY_MS, model=model, by=by, tail=tail, last_batch=last_batch,
                invite_calls=invites, sts_rounds=sts_rounds, member_slots=MEMBER_SLOTS, pages=base["pages"],
                describe_rounds=base["describe_rounds"], org_calls=n if model == "describe" else base["pages"],
                lookup_rounds=base["rounds"])


def member_bound_formula(b: dict) -> str:
    parts = []
    for model, v in b["by"].items():
        parts.append(f"{model}: max(chain {v['last']} + 3 + tail {b['tail']} = {v['chain']}, "
                     f"STS {v['first']} + ceil(O/{SLOTS})={b['sts_rounds']} + 2 + tail {b['tail']} = {v['sts']})"
                     f" = {v['rounds']}")
    return (f"min({'; '.join(parts)}) = {b['rounds']} rounds (tail: the last invitation's {b['last_batch']} "
            f"accounts × 2 member calls / {b['member_slots']} at once)")
