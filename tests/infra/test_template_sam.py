"""template.yaml: what it must deploy, checked on the template and on the
CloudFormation that the SAM transform makes of it.

`sam validate --lint` checks the template against the SAM schema but does not
run the transform, so errors the transform alone reports (e.g. an
EventInvokeConfig destination without `Type`) would only show up at deploy
time. test_sam_transform_succeeds runs the real transform (aws-sam-translator,
offline) to catch them here.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import ASL, EVENTS, ROOT, SRC, load_template

SETTINGS = {
    # environment variable: template parameter
    "GUARDDUTY_DETECTOR_ID": "GuardDutyDetectorId",
    "INVITATION_MESSAGE": "InvitationMessage",
    "DISABLE_EMAIL_NOTIFICATION": "DisableEmailNotification",
    "MAX_ACCOUNTS_PER_EVENT": "MaxAccountsPerEvent",
    "ORGANIZATIONS_CHECK": "OrganizationsCheck",
    "ORGANIZATIONS_CACHE_SECONDS": "OrganizationsCacheSeconds",
    "MAX_CALLS_IN_FLIGHT": "MaxCallsInFlight",
    "REGIONS": "Regions",
    "MEMBER_ROLE_NAME": "MemberRoleName",
    "MEMBER_ROLE_EXTERNAL_ID": "MemberRoleExternalId",
    "ENABLE_MEMBER_DETECTORS": "EnableMemberDetectors",
}

# The function's embedded-metric-format records (SPEC.md, "Logs and metrics").
METRICS_NAMESPACE = "GuardDutyInviter"


@pytest.fixture(scope="module")
def transformed():
    from samtranslator.translator.transform import transform

    template = load_template()
    # Local paths are what `sam build`/`sam package` replace with S3 URIs.
    template["Resources"]["InviterFunction"]["Properties"]["CodeUri"] = "s3://bucket/function.zip"
    template["Resources"]["InviterStateMachine"]["Properties"]["DefinitionUri"] = "s3://bucket/inviter.asl.json"

    class NoManagedPolicies:
        def load(self):
            return {}

    import os

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(template, {}, NoManagedPolicies())["Resources"]


@pytest.fixture(scope="module")
def fn(resources):
    return resources["InviterFunction"]


@pytest.fixture(scope="module")
def params(template):
    return template["Parameters"]


def test_sam_transform_succeeds(transformed):
    types = {k: v["Type"] for k, v in transformed.items()}
    assert types["InviterFunction"] == "AWS::Lambda::Function"
    assert types["InviterFunctionInviteRequest"] == "AWS::Events::Rule"
    assert types["InviterFunctionInviteRequestPermission"] == "AWS::Lambda::Permission"
    assert types["InviterFunctionEventInvokeConfig"] == "AWS::Lambda::EventInvokeConfig"
    assert types["InviterStateMachine"] == "AWS::StepFunctions::StateMachine"


def test_function_runtime_and_build(fn, params):
    p = fn["Properties"]
    assert p["Tracing"] == "Active"
    assert p["Runtime"] == "provided.al2023"
    assert p["Handler"] == "bootstrap"
    assert p["Architectures"] == ["arm64"]
    assert p["CodeUri"] == "."
    assert fn["Metadata"]["BuildMethod"] == "rust-cargolambda"
    assert fn["Metadata"]["BuildProperties"]["Binary"] == "bootstrap"
    assert p["MemorySize"] == {"Ref": "FunctionMemorySize"}
    assert params["FunctionMemorySize"]["Default"] == 128
    assert p["Timeout"] == {"Ref": "FunctionTimeout"}
    assert params["FunctionTimeout"]["Default"] == 60
    assert 'name = "bootstrap"' in (ROOT / "Cargo.toml").read_text()


def test_every_setting_is_a_parameter(fn, params):
    env = fn["Properties"]["Environment"]["Variables"]
    assert set(env) == set(SETTINGS)
    for var, param in SETTINGS.items():
        assert params[param]["Default"] == "", f"{param}: empty default = the function's own default"
        # An empty value never reaches the function (SPEC: empty counts as unset).
        cond, value, otherwise = env[var]["Fn::If"]
        assert value == {"Ref": param} and otherwise == {"Ref": "AWS::NoValue"}, var


def test_the_external_id_is_not_echoed(params):
    assert params["MemberRoleExternalId"]["NoEcho"] is True


def test_regions_parameter_takes_names_or_all(params):
    pattern = re.compile(params["Regions"]["AllowedPattern"])
    for ok in ("", "all", "us-east-1", "us-east-1,eu-west-1", "us-east-1 , us-gov-west-1", "allx-1"):
        assert pattern.fullmatch(ok), ok
    for bad in ("ALL", "us-east-1,", ",eu-west-1", "us east 1", "all,us-east-1", "us-east-1, all"):
        assert not pattern.fullmatch(bad), bad


def test_member_detectors_need_a_member_role(template):
    rule = template["Rules"]["MemberDetectorsNeedMemberRole"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "EnableMemberDetectors"}, "true"]}
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "MemberRoleName"}, ""]}]}


def test_settings_match_the_code():
    """Every variable src/config.rs reads (`get("NAME")`) is settable."""
    text = (SRC / "config.rs").read_text(encoding="utf-8")
    read = set(re.findall(r'\bget\("([A-Z][A-Z0-9_]+)"\)', text))
    assert read, "src/config.rs names no settings?"
    assert read <= set(SETTINGS), f"not in template.yaml: {sorted(read - set(SETTINGS))}"


def test_settings_match_spec():
    spec = ROOT.parent / "shared" / "SPEC.md"
    if not spec.exists():
        pytest.skip("shared/SPEC.md not beside the repository")
    named = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", spec.read_text(), re.M))
    assert named == set(SETTINGS), f"SPEC.md only: {sorted(named - set(SETTINGS))}; template only: {sorted(set(SETTINGS) - named)}"


def test_logging(fn, resources, params):
    p = fn["Properties"]
    lc = p["LoggingConfig"]
    assert lc["LogFormat"] == "JSON"
    assert lc["ApplicationLogLevel"] == {"Ref": "ApplicationLogLevel"}
    assert lc["LogGroup"] == {"Ref": "InviterLogGroup"}
    group = resources["InviterLogGroup"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}-inviter"}
    assert p["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-inviter"}
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert params["LogRetentionInDays"]["Default"] == 30


def test_eventbridge_rule(fn, params, transformed):
    (event,) = fn["Properties"]["Events"].values()
    assert event["Type"] == "EventBridgeRule"
    props = event["Properties"]
    # Named, so that its metrics (dimension RuleName) can be alarmed on.
    assert props["RuleName"] == {"Fn::Sub": "${AWS::StackName}-inviter"}
    assert transformed["InviterFunctionInviteRequest"]["Properties"]["Name"] == props["RuleName"]
    assert props["EventBusName"] == {"Ref": "EventBusName"}
    assert props["Pattern"] == {
        "source": [{"Ref": "EventSource"}],
        "detail-type": [{"Ref": "EventDetailType"}],
    }
    rule = transformed["InviterFunctionInviteRequest"]["Properties"]
    (target,) = rule["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["EventDeadLetterQueue", "Arn"]}}
    assert set(target["RetryPolicy"]) == {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}
    # The sample EventBridge event is one the rule matches with its defaults.
    sample = json.loads((EVENTS / "eventbridge.json").read_text())
    assert sample["source"] == params["EventSource"]["Default"]
    assert sample["detail-type"] == params["EventDetailType"]["Default"]


def test_dead_letter_queue_policy(resources):
    queue = resources["EventDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    policy = resources["EventDeadLetterQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "EventDeadLetterQueue"}]
    (st,) = policy["PolicyDocument"]["Statement"]
    assert st["Principal"] == {"Service": "events.amazonaws.com"}
    assert st["Action"] == "sqs:SendMessage"
    assert st["Resource"] == {"Fn::GetAtt": ["EventDeadLetterQueue", "Arn"]}
    assert st["Condition"]["ArnEquals"]["aws:SourceArn"] == {
        "Fn::GetAtt": ["InviterFunctionInviteRequest", "Arn"]
    }


def test_async_invoke_config(fn, params, resources, transformed):
    cfg = fn["Properties"]["EventInvokeConfig"]
    assert cfg["MaximumRetryAttempts"] == {"Ref": "AsyncMaximumRetryAttempts"}
    assert (params["AsyncMaximumRetryAttempts"]["MinValue"], params["AsyncMaximumRetryAttempts"]["MaxValue"]) == (0, 2)
    assert cfg["MaximumEventAgeInSeconds"] == {"Ref": "AsyncMaximumEventAgeInSeconds"}
    on_failure = transformed["InviterFunctionEventInvokeConfig"]["Properties"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Destination": {"Fn::GetAtt": ["InvocationFailureQueue", "Arn"]}}
    assert resources["InvocationFailureQueue"]["Properties"]["SqsManagedSseEnabled"] is True


def test_state_machine(resources, params):
    sm = resources["InviterStateMachine"]
    assert sm["Type"] == "AWS::Serverless::StateMachine"
    p = sm["Properties"]
    assert p["DefinitionUri"] == "statemachine/inviter.asl.json"
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", ASL.read_text()))
    assert placeholders == set(p["DefinitionSubstitutions"]), "every ${...} in the ASL is substituted, and only those"
    subs = p["DefinitionSubstitutions"]
    assert subs["InviterFunctionArn"] == {"Fn::GetAtt": ["InviterFunction", "Arn"]}
    assert subs["LambdaInvokeArn"] == {"Fn::Sub": "arn:${AWS::Partition}:states:::lambda:invoke"}
    assert subs["MaxAccountsPerEvent"] == {
        "Fn::If": ["HasMaxAccountsPerEvent", {"Ref": "MaxAccountsPerEvent"}, "1000"]
    }
    for name in ("WorkflowMaxRounds", "WorkflowRetryWaitSeconds", "WorkflowRetryBackoffRate"):
        assert subs[name] == {"Ref": name}
        assert params[name]["Type"] == "Number" and params[name]["MinValue"] >= 1
    assert params["WorkflowMaxRounds"]["MaxValue"] <= 10, "a bounded number of rounds"
    invoke = [pol for pol in p["Policies"] if isinstance(pol, dict) and "LambdaInvokePolicy" in pol]
    assert invoke == [{"LambdaInvokePolicy": {"FunctionName": {"Ref": "InviterFunction"}}}]
    (dest,) = p["Logging"]["Destinations"]
    assert dest["CloudWatchLogsLogGroup"]["LogGroupArn"] == {"Fn::GetAtt": ["StateMachineLogGroup", "Arn"]}
    assert p["Tracing"] == {"Enabled": True}


def test_state_machine_role_may_write_traces(transformed):
    role = transformed["InviterStateMachineRole"]["Properties"]
    assert any(str(arn).endswith(":policy/AWSXrayWriteOnlyAccess") for arn in role["ManagedPolicyArns"])


def test_state_machine_may_invoke_only_the_function(transformed):
    role = transformed["InviterStateMachineRole"]["Properties"]
    lambda_statements = [
        st
        for pol in role["Policies"]
        for st in pol["PolicyDocument"]["Statement"]
        if "Action" in st and any(a.startswith("lambda:") for a in st["Action"])
    ]
    (st,) = lambda_statements
    assert st["Action"] == ["lambda:InvokeFunction"]
    assert st["Resource"]["Fn::Sub"][1] == {"functionName": {"Ref": "InviterFunction"}}


def test_outputs(template):
    outputs = template["Outputs"]
    for name in (
        "FunctionArn",
        "StateMachineArn",
        "EventRuleArn",
        "EventDeadLetterQueueUrl",
        "InvocationFailureQueueUrl",
        "AlarmTopicArn",
    ):
        assert name in outputs, name
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert outputs["EventRuleArn"]["Value"] == {"Fn::GetAtt": ["InviterFunctionInviteRequest", "Arn"]}


def test_checkov_skips_are_justified(template):
    for name, res in template["Resources"].items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), (name, skip)
            assert len(skip.get("comment", "")) > 40, f"{name}: {skip['id']} needs a reason"


def test_cfn_lint_ignores_are_justified():
    """Every rule a resource tells cfn-lint to skip has a comment saying why
    right above it (the decoded template has no comments: read the text)."""
    lines = (ROOT / "template.yaml").read_text().splitlines()
    ignores = [i for i, line in enumerate(lines) if line.strip().startswith("ignore_checks:")]
    assert ignores, "no ignore_checks: drop this test"
    for i in ignores:
        above = lines[i - 1].strip()
        assert above.startswith("#") and len(" ".join(l.strip() for l in lines[i - 4:i])) > 120, lines[i]


# ------------------------------------------------------------------ alarms

# Every alarm: (what it watches, the threshold it must cross).
ALARMS = {
    "FunctionErrorsAlarm": ("AWS/Lambda", "Errors", {"FunctionName": {"Ref": "InviterFunction"}}, "Sum"),
    "FunctionThrottlesAlarm": ("AWS/Lambda", "Throttles", {"FunctionName": {"Ref": "InviterFunction"}}, "Sum"),
    "EventDeadLetterQueueAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                                  {"QueueName": {"Fn::GetAtt": ["EventDeadLetterQueue", "QueueName"]}}, "Maximum"),
    "InvocationFailureQueueAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                                    {"QueueName": {"Fn::GetAtt": ["InvocationFailureQueue", "QueueName"]}}, "Maximum"),
    "StateMachineFailedAlarm": ("AWS/States", "ExecutionsFailed",
                                {"StateMachineArn": {"Ref": "InviterStateMachine"}}, "Sum"),
}
QUERY_ALARMS = {
    "UnprocessedAccountsAlarm": "Unprocessed",
    "RetryableUnprocessedAccountsAlarm": "RetryableUnprocessed",
}
ALL_ALARMS = set(ALARMS) | set(QUERY_ALARMS) | {"FunctionDurationAlarm", "EventRuleFailedInvocationsAlarm"}


@pytest.fixture(scope="module")
def alarms(resources):
    return {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}


def dims(dimensions):
    return {d["Name"]: d["Value"] for d in dimensions}


def test_the_alarms_are_all_there(alarms):
    assert set(alarms) == ALL_ALARMS


def test_every_alarm_notifies_the_topic_and_says_what_to_do(alarms, resources):
    for name, a in alarms.items():
        assert a["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert a["OKActions"] == [{"Ref": "AlarmTopic"}], name
        assert a["TreatMissingData"] == "notBreaching", f"{name}: no invocations is not an alarm"
        assert a["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), name
        assert len(a["AlarmDescription"]) > 150, f"{name}: say what it means and what to do"
        assert a["EvaluationPeriods"] == 1
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_each_metric_alarm_watches_its_metric(alarms, name):
    namespace, metric, dimensions, stat = ALARMS[name]
    a = alarms[name]
    assert (a["Namespace"], a["MetricName"], a["Statistic"]) == (namespace, metric, stat)
    assert dims(a["Dimensions"]) == dimensions
    assert (a["ComparisonOperator"], a["Threshold"]) == ("GreaterThanThreshold", 0)


def test_duration_alarm_is_80_percent_of_the_timeout(alarms):
    a = alarms["FunctionDurationAlarm"]
    (duration,) = [m for m in a["Metrics"] if "MetricStat" in m]
    assert duration["ReturnData"] is False
    stat = duration["MetricStat"]
    assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"], stat["Stat"]) == ("AWS/Lambda", "Duration", "Maximum")
    assert dims(stat["Metric"]["Dimensions"]) == {"FunctionName": {"Ref": "InviterFunction"}}
    (percent,) = [m for m in a["Metrics"] if m.get("ReturnData")]
    # Duration is in milliseconds, FunctionTimeout in seconds.
    assert percent["Expression"] == {"Fn::Sub": f"100 * {duration['Id']} / (${{FunctionTimeout}} * 1000)"}
    assert (a["ComparisonOperator"], a["Threshold"]) == ("GreaterThanThreshold", 80)


def test_rule_alarm_watches_the_rule_on_its_bus(alarms):
    a = alarms["EventRuleFailedInvocationsAlarm"]
    assert (a["Namespace"], a["MetricName"], a["Statistic"]) == ("AWS/Events", "FailedInvocations", "Sum")
    # EventBridge: RuleName alone on the default bus, EventBusName and
    # RuleName on a custom bus.
    cond, default_bus, custom_bus = a["Dimensions"]["Fn::If"]
    rule = {"Fn::Sub": "${AWS::StackName}-inviter"}
    assert dims(default_bus) == {"RuleName": rule}
    assert dims(custom_bus) == {"EventBusName": {"Ref": "EventBusName"}, "RuleName": rule}
    assert cond == "DefaultEventBus"
    assert (a["ComparisonOperator"], a["Threshold"]) == ("GreaterThanThreshold", 0)


@pytest.mark.parametrize("name", sorted(QUERY_ALARMS))
def test_unprocessed_alarms_sum_every_region(alarms, name):
    a = alarms[name]
    (query,) = a["Metrics"]
    # One series: the sum over every Region value of the dimension.
    assert query["Expression"] == (
        f"SELECT SUM({QUERY_ALARMS[name]}) FROM SCHEMA({METRICS_NAMESPACE}, Region)"
    )
    assert query["ReturnData"] is True and query["Period"] == 300
    assert (a["ComparisonOperator"], a["Threshold"]) == ("GreaterThanThreshold", 0)


def test_alarm_metrics_are_the_ones_spec_names():
    spec = ROOT.parent / "shared" / "SPEC.md"
    if not spec.exists():
        pytest.skip("shared/SPEC.md not beside the repository")
    text = spec.read_text()
    section = text[text.index("## Logs and metrics"):]
    assert f"namespace `{METRICS_NAMESPACE}`" in section and "dimension `Region`" in section
    for metric in QUERY_ALARMS.values():
        assert f"`{metric}`" in section, metric


def test_the_email_subscription_is_optional(resources, params):
    sub = resources["AlarmEmailSubscription"]
    assert sub["Condition"] == "HasAlarmEmail"
    assert sub["Properties"] == {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                                 "Endpoint": {"Ref": "AlarmEmail"}}
    assert params["AlarmEmail"]["Default"] == ""
