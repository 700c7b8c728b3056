"""The function's IAM permissions are exactly what its code calls.

The function's role (InviterRole in template.yaml) must grant exactly the six
GuardDuty/Organizations actions the Rust code calls, none with a wildcard,
each on the narrowest resource the action allows. The code is cross-checked
two ways: the six SDK calls the function is known to make, and every fluent
SDK operation call found in src/ (operation names read from the AWS SDK
crates themselves), so adding an SDK call without its permission, or a
permission without a call, fails here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

from conftest import ROOT, SRC

EXPECTED_ACTIONS = {
    "guardduty:ListDetectors",
    "guardduty:GetMembers",
    "guardduty:DeleteMembers",
    "guardduty:CreateMembers",
    "guardduty:InviteMembers",
    "organizations:DescribeAccount",
    "organizations:ListAccounts",
}

# The SDK fluent calls the function makes, and the IAM action each needs.
KNOWN_SDK_CALLS = {
    "list_detectors": "guardduty:ListDetectors",
    "get_members": "guardduty:GetMembers",
    "delete_members": "guardduty:DeleteMembers",
    "create_members": "guardduty:CreateMembers",
    "invite_members": "guardduty:InviteMembers",
    "describe_account": "organizations:DescribeAccount",
    "list_accounts": "organizations:ListAccounts",
}

# Actions with no resource type in the Service Authorization Reference: they
# can only be granted on "*".
UNSCOPABLE = {"guardduty:ListDetectors", "organizations:ListAccounts"}

# Permissions the role needs for Lambda itself, not for the function's code.
PLUMBING = {
    "logs:CreateLogStream": "InviterLogGroup",
    "logs:PutLogEvents": "InviterLogGroup",
    "sqs:SendMessage": "InvocationFailureQueue",
}

SDK_CRATES = {"guardduty": "aws-sdk-guardduty", "organizations": "aws-sdk-organizations"}


def as_list(v):
    return v if isinstance(v, list) else [v]


@pytest.fixture(scope="module")
def function(resources):
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    assert list(functions) == ["InviterFunction"], "exactly one function"
    return functions["InviterFunction"]


@pytest.fixture(scope="module")
def role(function, resources):
    props = function["Properties"]
    # An explicit role: SAM adds no policy of its own to it.
    assert "Policies" not in props, "the function's permissions live in InviterRole only"
    role_ref = props["Role"]
    assert role_ref == {"Fn::GetAtt": ["InviterRole", "Arn"]}
    role = resources["InviterRole"]
    assert role["Type"] == "AWS::IAM::Role"
    return role["Properties"]


@pytest.fixture(scope="module")
def statements(role):
    assert not role.get("ManagedPolicyArns"), "no managed policies: they grant more than needed"
    out = []
    for policy in role["Policies"]:
        for st in as_list(policy["PolicyDocument"]["Statement"]):
            out.append(st)
    return out


def test_trust_policy_is_lambda_only(role):
    (st,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert st["Effect"] == "Allow"
    assert st["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert as_list(st["Action"]) == ["sts:AssumeRole"]


def test_statements_are_plain_allows(statements):
    for st in statements:
        assert st["Effect"] == "Allow", st
        assert "NotAction" not in st and "NotResource" not in st, st
        assert "Action" in st and "Resource" in st, st


def test_no_wildcard_in_any_action(statements):
    for st in statements:
        for action in as_list(st["Action"]):
            assert "*" not in action and "?" not in action, action


def api_actions(statements):
    """The GuardDuty and Organizations actions the policy grants."""
    return {
        a
        for st in statements
        for a in as_list(st["Action"])
        if a.split(":")[0] in ("guardduty", "organizations")
    }


def test_api_actions_are_exactly_the_six(statements):
    granted = api_actions(statements)
    assert granted == EXPECTED_ACTIONS, (
        f"missing: {sorted(EXPECTED_ACTIONS - granted)}, extra: {sorted(granted - EXPECTED_ACTIONS)}"
    )


def test_other_actions_are_lambda_plumbing_on_own_resources(statements):
    for st in statements:
        for action in as_list(st["Action"]):
            if action.split(":")[0] in ("guardduty", "organizations"):
                continue
            assert action in PLUMBING, f"unexpected permission {action}"
            assert as_list(st["Resource"]) == [{"Fn::GetAtt": [PLUMBING[action], "Arn"]}], st


def test_star_resource_only_for_unscopable_actions(statements):
    for st in statements:
        if "*" in as_list(st["Resource"]):
            assert set(as_list(st["Action"])) <= UNSCOPABLE, st


def test_every_action_appears_once(statements):
    seen = [a for st in statements for a in as_list(st["Action"])]
    assert len(seen) == len(set(seen)), seen


def _resource_for(statements, action):
    (st,) = [st for st in statements if action in as_list(st["Action"])]
    (res,) = as_list(st["Resource"])
    return res


def test_member_actions_scoped_to_own_detectors(statements):
    for action in (
        "guardduty:GetMembers",
        "guardduty:DeleteMembers",
        "guardduty:CreateMembers",
        "guardduty:InviteMembers",
    ):
        res = _resource_for(statements, action)
        assert res == {
            "Fn::Sub": "arn:${AWS::Partition}:guardduty:${AWS::Region}:${AWS::AccountId}:detector/*"
        }, (action, res)


def test_describe_account_scoped_to_organization_accounts(statements):
    res = _resource_for(statements, "organizations:DescribeAccount")
    pattern, values = res["Fn::Sub"]
    assert pattern == "arn:${AWS::Partition}:organizations::${ManagementAccount}:account/${Organization}/*"
    assert values["ManagementAccount"]["Fn::If"][1:] == [{"Ref": "OrganizationManagementAccountId"}, "*"]
    assert values["Organization"]["Fn::If"][1:] == [{"Ref": "OrganizationId"}, "o-*"]


# ---------------------------------------------------------------- the code


def rust_sources() -> dict[Path, str]:
    files = {p: p.read_text(encoding="utf-8") for p in sorted(SRC.rglob("*.rs"))}
    assert files, f"no Rust sources under {SRC}"
    return files


def fluent_calls(text: str) -> set[str]:
    """Names of argument-less method calls (`.name()`), the shape of an AWS SDK
    fluent operation call (`client.list_detectors()`), also when the call is
    split over lines."""
    text = re.sub(r"//[^\n]*", "", text)  # comments
    return set(re.findall(r"\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)", text))


def test_known_sdk_calls_map_to_the_six_actions():
    calls = set()
    for text in rust_sources().values():
        calls |= fluent_calls(text)
    used = {KNOWN_SDK_CALLS[c] for c in calls if c in KNOWN_SDK_CALLS}
    assert used == EXPECTED_ACTIONS, f"src/ no longer calls: {sorted(EXPECTED_ACTIONS - used)}"


def sdk_operations() -> dict[str, dict[str, str]] | None:
    """{service prefix: {fluent method: OperationName}}, read from the SDK crate
    versions in Cargo.lock (located with `cargo metadata`, which fetches them
    if needed). None when cargo is not available."""
    cargo = shutil.which("cargo")
    if not cargo:
        return None
    try:
        meta = subprocess.run(
            [cargo, "metadata", "--format-version", "1", "--locked"],
            cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
        )
    except (subprocess.SubprocessError, OSError) as e:
        warnings.warn(f"cargo metadata failed: {e}")
        return None
    packages = json.loads(meta.stdout)["packages"]
    out = {}
    for prefix, crate in SDK_CRATES.items():
        dirs = [Path(p["manifest_path"]).parent for p in packages if p["name"] == crate]
        assert dirs, f"{crate} is not a dependency any more: update this test"
        ops = {}
        for d in dirs:
            for f in (d / "src" / "operation").glob("*.rs"):
                m = re.search(r'\.operation_name\("([A-Za-z0-9]+)"\)', f.read_text(encoding="utf-8"))
                if m:
                    ops[f.stem] = m.group(1)
        assert ops, f"no operations found in {dirs}"
        out[prefix] = ops
    return out


def test_every_sdk_call_in_src_has_exactly_its_permission(statements):
    ops = sdk_operations()
    if ops is None:
        pytest.skip("cargo not available: only the known-call mapping was checked")
    needed = set()
    for path, text in rust_sources().items():
        calls = fluent_calls(text)
        crates_here = {p for p in ops if f"aws_sdk_{p}" in text}
        for prefix, table in ops.items():
            for call in calls & set(table):
                in_both = all(call in t for t in ops.values())
                if in_both and crates_here and prefix not in crates_here:
                    continue  # e.g. tag_resource in a file using only the other SDK
                needed.add(f"{prefix}:{table[call]}")
    granted = api_actions(statements)
    assert needed == granted, (
        f"called but not granted: {sorted(needed - granted)}; granted but not called: {sorted(granted - needed)}"
    )
