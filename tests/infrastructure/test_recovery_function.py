"""template.yaml, the recovery function (operations-api.md §1): its schedule, dead letters, network, role and alarms.

What a deployment must keep true: a pass every 5 minutes that cannot outlive the interval, failures that land in an
alarmed queue, CMI's API reached from one fixed address, a role that can do what a pass does and nothing more.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess

import pytest

from epay.adapters.dynamodb.items import RECOVERY_INDEX
from epay.config import RecoverySettings
from epay.recovery import VISIT_SECONDS
from epay_local.template import PROJECT_ROOT, load_template

pytestmark = pytest.mark.infrastructure

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
FUNCTION = RESOURCES["RecoveryFunction"]["Properties"]
SCHEDULE = RESOURCES["RecoverySchedule"]["Properties"]
QUEUE = "RecoveryDeadLetterQueue"
THE_KEY = {"Fn::GetAtt": ["EpayKey", "Arn"]}
NOTIFIES_THE_ALARM_TOPIC = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def resources_of(kind):
    return {name: resource for name, resource in RESOURCES.items() if resource["Type"] == kind}


def listed(value):
    return value if isinstance(value, list) else [value]


def get_att(name, attribute="Arn"):
    return {"Fn::GetAtt": [name, attribute]}


def via(service):
    return {"Fn::Sub": f"{service}.${{AWS::Region}}.${{AWS::URLSuffix}}"}


def rate_seconds(expression):
    found = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours)\)", expression)
    assert found, expression
    return int(found[1]) * (60 if found[2].startswith("minute") else 3600)


# -- the schedule ---------------------------------------------------------------------------------------------------


def test_a_pass_is_scheduled_every_5_minutes_on_time():
    assert SCHEDULE["ScheduleExpression"] == "rate(5 minutes)"
    assert SCHEDULE["State"] == "ENABLED"
    assert SCHEDULE["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert SCHEDULE["Target"]["Arn"] == get_att("RecoveryFunction")
    assert SCHEDULE["Target"]["RoleArn"] == get_att("RecoverySchedulerRole")
    # Nothing in the event: the pass reads everything it needs from the table.
    assert json.loads(SCHEDULE["Target"]["Input"]) == {}


def test_an_undelivered_schedule_is_retried_until_the_next_one_then_dead_lettered():
    retry = SCHEDULE["Target"]["RetryPolicy"]
    assert retry["MaximumRetryAttempts"] >= 1
    assert 60 <= retry["MaximumEventAgeInSeconds"] <= rate_seconds(SCHEDULE["ScheduleExpression"])
    assert SCHEDULE["Target"]["DeadLetterConfig"] == {"Arn": get_att(QUEUE)}


def test_a_pass_ends_within_its_timeout_and_its_timeout_within_the_interval():
    # A pass starts a visit only with VISIT_SECONDS of its EPAY_RECOVERY_PASS_SECONDS left; the function must outlive
    # that by a visit's worth (cold start, secrets), and not outlive the interval, so one pass at a time keeps up.
    environment = FUNCTION["Environment"]["Variables"]
    pass_seconds = int(
        environment.get("EPAY_RECOVERY_PASS_SECONDS", RecoverySettings.model_fields["pass_seconds"].default)
    )
    assert pass_seconds + 2 * VISIT_SECONDS <= FUNCTION["Timeout"] <= rate_seconds(SCHEDULE["ScheduleExpression"])
    assert FUNCTION["ReservedConcurrentExecutions"] == 1


def test_a_failed_pass_is_retried_once_then_dead_lettered_in_the_alarmed_queue():
    invoke = FUNCTION["EventInvokeConfig"]
    assert invoke["MaximumRetryAttempts"] == 1
    # An event that waited this long (passes jammed) is worth nothing but the alarm: newer passes were scheduled.
    assert rate_seconds(SCHEDULE["ScheduleExpression"]) < invoke["MaximumEventAgeInSeconds"] <= 3600
    assert FUNCTION["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": get_att(QUEUE)}


def test_the_dead_letter_queue_keeps_14_days_under_the_stack_key():
    queue = RESOURCES[QUEUE]["Properties"]
    assert queue["MessageRetentionPeriod"] == 14 * 86_400
    assert queue["KmsMasterKeyId"] == THE_KEY
    assert "SqsManagedSseEnabled" not in queue
    # Nothing consumes it: no function reads it, no event source maps it.
    assert not resources_of("AWS::Lambda::EventSourceMapping")
    assert not [f for f in resources_of("AWS::Serverless::Function").values() if "SQS" in json.dumps(f.get("Events"))]


# -- the scheduler's role --------------------------------------------------------------------------------------------


def test_only_this_account_s_recovery_schedule_may_use_the_scheduler_role():
    (statement,) = RESOURCES["RecoverySchedulerRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Action"] == ["sts:AssumeRole"]
    condition = statement["Condition"]["StringEquals"]
    assert condition["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert condition["aws:SourceArn"]["Fn::Sub"].endswith(":schedule/default/" + SCHEDULE["Name"]["Fn::Sub"])


def test_the_scheduler_may_invoke_the_recovery_function_and_dead_letter_nothing_more():
    (policy,) = RESOURCES["RecoverySchedulerRole"]["Properties"]["Policies"]
    granted = {
        (action, json.dumps(statement["Resource"], sort_keys=True), json.dumps(statement.get("Condition")))
        for statement in policy["PolicyDocument"]["Statement"]
        for action in listed(statement["Action"])
        if statement["Effect"] == "Allow"
    }
    through_sqs = json.dumps({"StringEquals": {"kms:ViaService": via("sqs")}})
    assert granted == {
        ("lambda:InvokeFunction", json.dumps(get_att("RecoveryFunction")), "null"),
        ("sqs:SendMessage", json.dumps(get_att(QUEUE)), "null"),
        ("kms:GenerateDataKey", json.dumps(THE_KEY), through_sqs),
        ("kms:Decrypt", json.dumps(THE_KEY), through_sqs),
    }


# -- the recovery function's own role: what a pass does, nothing more -------------------------------------------

EPAY_TABLE = json.dumps(get_att("EpayTable"))
RECOVERY_INDEX_ARN = json.dumps({"Fn::Sub": f"${{EpayTable.Arn}}/index/{RECOVERY_INDEX}"})
# Read a payment (consistent GetItem) and its invoices (BatchGetItem); write in TransactWriteItems, whose IAM actions
# are its items' (Put, Update, ConditionCheck), and PutItem/UpdateItem of evidence. Never Scan, Delete or Query the
# table itself: due payments come from the recovery index only.
TABLE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
}
KEY_ACTIONS = {
    ("kms:Decrypt", json.dumps({"StringEquals": {"kms:ViaService": [via("dynamodb"), via("secretsmanager")]}})),
    ("kms:GenerateDataKey", json.dumps({"StringEquals": {"kms:ViaService": via("dynamodb")}})),
    ("kms:GenerateDataKey", json.dumps({"StringEquals": {"kms:ViaService": via("sqs")}})),
    ("kms:Decrypt", json.dumps({"StringEquals": {"kms:ViaService": via("sqs")}})),
}


def template_grants():
    """(action, resource) for every statement of the function's Policies, SAM's secret template expanded."""
    for policy in FUNCTION["Policies"]:
        if "AWSSecretsManagerGetSecretValuePolicy" in policy:
            yield (
                "secretsmanager:GetSecretValue",
                json.dumps(policy["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]),
            )
            continue
        assert set(policy) == {"Statement"}, f"unreviewed policy {policy}"
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in listed(statement["Action"]):
                resource = json.dumps(statement["Resource"])
                if action.startswith("kms:"):
                    yield action, json.dumps(statement["Condition"])
                else:
                    yield action, resource


def test_the_recovery_role_can_do_what_a_pass_does_and_nothing_more():
    granted = set(template_grants())
    expected = {("dynamodb:Query", RECOVERY_INDEX_ARN)}
    expected |= {(action, EPAY_TABLE) for action in TABLE_ACTIONS}
    expected |= {
        ("secretsmanager:GetSecretValue", json.dumps({"Ref": secret}))
        for secret in ("CmiApiPasswordSecret", "M2tSecret")
    }
    expected |= KEY_ACTIONS
    assert granted == expected
    text = json.dumps(FUNCTION["Policies"])
    for never in (
        "dynamodb:Scan",
        "DeleteItem",
        "BatchWriteItem",
        "RateLimitTable",
        "IdempotencyTable",
        "CursorSecret",
        "CmiStoreKeySecret",
        "FatouratiSecret",
        "*",
    ):
        assert never not in text, never


SAM_PYTHON = PROJECT_ROOT / ".venv-sam" / "bin" / "python"
# The template with its CodeUri/ContentUri made S3 URIs (what `sam deploy` uploads), through SAM's own translator.
_TRANSFORM = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicyNames:
    def load(self):
        raise RuntimeError("a policy names a managed policy: it would be looked up in IAM")

template = yaml_parse(open(sys.argv[1], encoding="utf-8").read())
for resource in template["Resources"].values():
    for uri in ("CodeUri", "ContentUri"):
        if uri in resource.get("Properties", {}):
            resource["Properties"][uri] = "s3://bucket/key.zip"
json.dump(transform(template, {}, NoManagedPolicyNames()), sys.stdout)
"""


@pytest.fixture(scope="module")
def deployed_template():
    if not SAM_PYTHON.exists():
        pytest.skip("the SAM CLI's virtualenv (make install) translates the template")
    environment = {**os.environ, "AWS_DEFAULT_REGION": "eu-west-3", "SAM_CLI_TELEMETRY": "0"}
    completed = subprocess.run(
        [str(SAM_PYTHON), "-c", _TRANSFORM, str(PROJECT_ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout)["Resources"]


# What SAM attaches for VpcConfig (the function's network interfaces: ec2 Create/Describe/Delete/Assign/Unassign
# on "*", which Lambda requires, and logs) and for every function (logs): reviewed, nothing else may appear.
SAM_MANAGED_POLICIES = [
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
]


def test_the_recovery_role_as_sam_deploys_it_adds_only_the_network_interfaces_and_the_dead_letter_queue(
    deployed_template,
):
    role = deployed_template["RecoveryFunctionRole"]["Properties"]
    assert role["ManagedPolicyArns"] == SAM_MANAGED_POLICIES
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": ["lambda.amazonaws.com"]}
    granted = set()
    for policy in role["Policies"]:
        for statement in listed(policy["PolicyDocument"]["Statement"]):
            assert statement["Effect"] == "Allow"
            granted |= {
                (action, json.dumps(statement["Resource"], sort_keys=True)) for action in listed(statement["Action"])
            }
    actions = {action for action, _ in granted}
    assert actions == {
        "dynamodb:Query",
        *TABLE_ACTIONS,
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "sqs:SendMessage",
    }
    assert ("sqs:SendMessage", json.dumps(get_att(QUEUE), sort_keys=True)) in granted
    assert [resource for action, resource in granted if action == "sqs:SendMessage"] == [
        json.dumps(get_att(QUEUE), sort_keys=True)
    ]
    function = deployed_template["RecoveryFunction"]["Properties"]
    assert function["DeadLetterConfig"] == {"TargetArn": get_att(QUEUE)}
    assert function["Timeout"] == FUNCTION["Timeout"]
    invoke = deployed_template["RecoveryFunctionEventInvokeConfig"]["Properties"]
    assert invoke["MaximumRetryAttempts"] == FUNCTION["EventInvokeConfig"]["MaximumRetryAttempts"]


# -- the network: private subnets, one NAT gateway, the Elastic IP CMI registers ----------------------------------

VPC = RESOURCES["RecoveryVpc"]["Properties"]


def test_the_function_runs_in_two_private_subnets_of_two_availability_zones_behind_https_only():
    config = FUNCTION["VpcConfig"]
    subnets = [RESOURCES[subnet["Ref"]]["Properties"] for subnet in config["SubnetIds"]]
    assert len(subnets) == 2
    assert sorted(subnet["AvailabilityZone"]["Fn::Select"][0] for subnet in subnets) == [0, 1]
    for subnet in subnets:
        assert subnet["VpcId"] == {"Ref": "RecoveryVpc"}
        assert subnet["MapPublicIpOnLaunch"] is False
    (group,) = config["SecurityGroupIds"]
    security_group = RESOURCES[group["Ref"]]["Properties"]
    assert "SecurityGroupIngress" not in security_group
    assert not resources_of("AWS::EC2::SecurityGroupIngress")
    (egress,) = security_group["SecurityGroupEgress"]
    assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 443, 443)


def test_subnets_are_inside_the_vpc_and_do_not_overlap():
    network = ipaddress.ip_network(VPC["CidrBlock"])
    blocks = [ipaddress.ip_network(s["Properties"]["CidrBlock"]) for s in resources_of("AWS::EC2::Subnet").values()]
    assert all(block.subnet_of(network) for block in blocks)
    assert not [(a, b) for i, a in enumerate(blocks) for b in blocks[i + 1 :] if a.overlaps(b)]


def routes_of(table):
    return {
        route["Properties"]["DestinationCidrBlock"]: route["Properties"]
        for route in resources_of("AWS::EC2::Route").values()
        if route["Properties"]["RouteTableId"] == {"Ref": table}
    }


def route_table_of(subnet):
    (table,) = [
        association["Properties"]["RouteTableId"]["Ref"]
        for association in resources_of("AWS::EC2::SubnetRouteTableAssociation").values()
        if association["Properties"]["SubnetId"] == subnet
    ]
    return table


def test_the_private_subnets_leave_through_one_nat_gateway_that_owns_the_elastic_ip():
    (nat_name,) = resources_of("AWS::EC2::NatGateway")  # one: the one address CMI registers (docs/operations.md)
    nat = RESOURCES[nat_name]["Properties"]
    assert nat["AllocationId"] == get_att("CmiEgressEip", "AllocationId")
    assert nat.get("ConnectivityType", "public") == "public"
    for subnet in FUNCTION["VpcConfig"]["SubnetIds"]:
        (default,) = routes_of(route_table_of(subnet)).values()
        assert default["DestinationCidrBlock"] == "0.0.0.0/0"
        assert default["NatGatewayId"] == {"Ref": nat_name}
    # The NAT gateway's subnet is public: its own default route goes to the VPC's internet gateway.
    public = routes_of(route_table_of(nat["SubnetId"]))["0.0.0.0/0"]
    assert public["GatewayId"] == {"Ref": "RecoveryInternetGateway"}
    attachment = RESOURCES["RecoveryInternetGatewayAttachment"]["Properties"]
    assert attachment == {"VpcId": {"Ref": "RecoveryVpc"}, "InternetGatewayId": {"Ref": "RecoveryInternetGateway"}}


def test_the_elastic_ip_outlives_the_stack_and_is_exported_for_cmi():
    eip = RESOURCES["CmiEgressEip"]
    assert eip["Properties"]["Domain"] == "vpc"
    assert eip["DeletionPolicy"] == eip["UpdateReplacePolicy"] == "Retain"
    output = TEMPLATE["Outputs"]["CmiEgressIp"]
    assert output["Value"] == {"Ref": "CmiEgressEip"}
    assert output["Export"]["Name"] == {"Fn::Sub": "epay-${Stage}-cmi-egress-ip"}


def test_table_traffic_goes_through_a_gateway_endpoint_that_allows_what_the_role_needs():
    (endpoint,) = resources_of("AWS::EC2::VPCEndpoint").values()  # no interface endpoint (docs/operations.md)
    properties = endpoint["Properties"]
    assert properties["VpcEndpointType"] == "Gateway"
    assert properties["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.dynamodb"}
    tables = {route_table_of(subnet) for subnet in FUNCTION["VpcConfig"]["SubnetIds"]}
    assert {table["Ref"] for table in properties["RouteTableIds"]} == tables
    allowed = {
        (action, json.dumps(resource))
        for statement in properties["PolicyDocument"]["Statement"]
        for action in listed(statement["Action"])
        for resource in listed(statement["Resource"])
    }
    needed = {(action, resource) for action, resource in template_grants() if action.startswith("dynamodb:")}
    assert needed <= allowed
    assert "dynamodb:Scan" not in json.dumps(properties["PolicyDocument"])


def test_only_the_recovery_function_is_in_the_vpc():
    # The payer's path (lookups, payments, callbacks) never depends on the NAT gateway.
    in_vpc = [name for name, f in resources_of("AWS::Serverless::Function").items() if "VpcConfig" in f["Properties"]]
    assert in_vpc == ["RecoveryFunction"]


# -- alarms ---------------------------------------------------------------------------------------------------------

RECOVERY_SOURCE = (PROJECT_ROOT / "layers/common/epay/recovery.py").read_text(encoding="utf-8")


def alarms_on(namespace, metric):
    return [
        alarm["Properties"]
        for alarm in resources_of("AWS::CloudWatch::Alarm").values()
        if (alarm["Properties"]["Namespace"], alarm["Properties"]["MetricName"]) == (namespace, metric)
    ]


@pytest.mark.parametrize(
    "metric", ["RecoveryUnresolved", "CaptureRefused", "ReversalUnconfirmed", "GatewayNeedsReversal", "RecoveryFailed"]
)
def test_what_recovery_leaves_to_an_operator_is_alarmed_at_once(metric):
    assert f'name="{metric}"' in RECOVERY_SOURCE, "a metric the pass publishes"
    (alarm,) = alarms_on("Epay", metric)
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "epay"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["Period"] * alarm["EvaluationPeriods"] <= 300
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == NOTIFIES_THE_ALARM_TOPIC


def test_a_failed_pass_is_alarmed():
    (alarm,) = [
        a for a in alarms_on("AWS/Lambda", "Errors") if a["Dimensions"][0]["Value"] == {"Ref": "RecoveryFunction"}
    ]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum",
        1,
        "GreaterThanOrEqualToThreshold",
    )


def test_passes_that_stop_running_are_alarmed_missing_data_included():
    (alarm,) = alarms_on("AWS/Lambda", "Invocations")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "RecoveryFunction"}}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == ("Sum", 1, "LessThanThreshold")
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 900  # three scheduled passes
    assert alarm["TreatMissingData"] == "breaching"  # Lambda publishes nothing for a period without invocations


def test_anything_in_the_dead_letter_queue_is_alarmed():
    (alarm,) = [
        alarm
        for alarm in alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        if alarm["Dimensions"][0]["Value"] == get_att(QUEUE, "QueueName")
    ]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": get_att(QUEUE, "QueueName")}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


# -- parameters and documentation -------------------------------------------------------------------------------

OPERATIONS = (PROJECT_ROOT / "docs/operations.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("parameter", ["CmiApiUrl", "CmiApiUser", "M2tApiUrl", "RecoveryAfterSeconds"])
def test_the_new_parameters_are_documented(parameter):
    assert f"`{parameter}`" in OPERATIONS
