"""template.yaml, issue 16: the stack's key, recovery, concurrency, dead-letter queues, VPC, and checkov's skips.

`make lint` runs checkov over the template; these tests keep what checkov cannot see: that a skip has a reason and is
reviewed in docs/operations.md, that the key policy admits only what uses it, that a skip stays true of the resource.
"""

from __future__ import annotations

import fnmatch
import re

import pytest

from epay_local.template import PROJECT_ROOT, load_template

pytestmark = pytest.mark.infrastructure

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
OPERATIONS = (PROJECT_ROOT / "docs/operations.md").read_text(encoding="utf-8")

THE_KEY = {"Fn::GetAtt": ["EpayKey", "Arn"]}
KEY_POLICY = RESOURCES["EpayKey"]["Properties"]["KeyPolicy"]


def resources_of(kind):
    return {name: resource for name, resource in RESOURCES.items() if resource["Type"] == kind}


FUNCTIONS = resources_of("AWS::Serverless::Function")


def via(service):
    return {"Fn::Sub": f"{service}.${{AWS::Region}}.${{AWS::URLSuffix}}"}


def listed(value):
    return value if isinstance(value, list) else [value]


def skips(resource):
    return resource.get("Metadata", {}).get("checkov", {}).get("skip", [])


def skipped(name):
    return {skip["id"] for skip in skips(RESOURCES[name])}


# -- the key --------------------------------------------------------------------------------------------------------


def test_the_key_is_customer_managed_rotated_and_kept_as_long_as_what_it_encrypts():
    key = RESOURCES["EpayKey"]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["Properties"]["KeySpec"] == "SYMMETRIC_DEFAULT"
    # The main table and the invoice-id key are retained with the stack: their key must outlive it too.
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    assert key["Properties"]["PendingWindowInDays"] == 30


def _references(value):
    """Every resource or parameter a value refers to (Ref, GetAtt, ${...} of a Sub)."""
    if isinstance(value, list):
        for item in value:
            yield from _references(item)
    elif isinstance(value, dict):
        for name, item in value.items():
            if name == "Ref":
                yield item
            elif name == "Fn::GetAtt":
                yield item[0]
            elif name == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                yield from (found.split(".")[0] for found in re.findall(r"\$\{([^}!]+)\}", text))
            else:
                yield from _references(item)


def test_the_key_policy_names_no_resource_of_the_stack_so_no_cycle_can_form():
    # The roles' policies name the key, and the tables and secrets they use name the key: a key policy naming a role
    # (SAM's <Function>Role) is a circular dependency (e.g. CmiStoreKeySecret -> EpayKey -> CreatePaymentFunctionRole
    # -> CmiStoreKeySecret) that `sam validate --lint` does not report and CloudFormation refuses.
    assert set(_references(KEY_POLICY)) <= {
        "AWS::Partition",
        "AWS::Region",
        "AWS::AccountId",
        "AWS::URLSuffix",
        "AWS::StackName",
        "Stage",
    }


# Every KMS action that uses the key (or lets someone else use it); none may be granted without a condition.
USES_OF_THE_KEY = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:GenerateMac",
    "kms:CreateGrant",
]
ACCOUNT_ROOT = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}


def uses(statement):
    actions = listed(statement["Action"])
    return {use for use in USES_OF_THE_KEY if any(fnmatch.fnmatchcase(use, action) for action in actions)}


def test_the_key_policy_has_no_wildcard_principal_and_administration_cannot_use_the_key():
    statements = KEY_POLICY["Statement"]
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] in ({"AWS": ACCOUNT_ROOT}, {"Service": via("logs")}), statement["Sid"]
    (administration,) = [s for s in statements if s["Sid"] == "AdministerTheKey"]
    assert "Condition" not in administration
    assert not uses(administration)
    assert not [action for action in administration["Action"] if "*" in action]
    # What CloudFormation needs to create, update and delete the key, and KMS's lock-out check.
    assert {"kms:PutKeyPolicy", "kms:DescribeKey", "kms:EnableKeyRotation", "kms:ScheduleKeyDeletion"} <= set(
        administration["Action"]
    )


def test_the_account_may_use_the_key_only_through_dynamodb_secrets_manager_and_sqs():
    for statement in KEY_POLICY["Statement"]:
        if statement["Principal"] != {"AWS": ACCOUNT_ROOT} or not uses(statement):
            continue
        condition = statement["Condition"]["StringEquals"]
        assert condition["kms:CallerAccount"] == {"Ref": "AWS::AccountId"}
        assert listed(condition["kms:ViaService"]) in (
            [via("dynamodb"), via("secretsmanager")],
            [via("dynamodb")],
            [via("sqs")],
        ), statement["Sid"]
        if listed(condition["kms:ViaService"]) == [via("sqs")]:
            # The recovery dead-letter queue: what a producer and a reader of an encrypted queue need, no more.
            assert uses(statement) == {"kms:Decrypt", "kms:GenerateDataKey"}
        if "kms:CreateGrant" in uses(statement):
            assert uses(statement) == {"kms:CreateGrant"}
            assert statement["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": True}


def _log_group_arn_patterns():
    (statement,) = [s for s in KEY_POLICY["Statement"] if s["Principal"] == {"Service": via("logs")}]
    patterns = listed(statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    assert all(isinstance(pattern, dict) and set(pattern) == {"Fn::Sub"} for pattern in patterns)
    return [pattern["Fn::Sub"] for pattern in patterns]


DEPLOYED = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-3",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "epay-prod",
    "Stage": "prod",
}


def deployed(text):
    return re.sub(r"\$\{([^}]+)\}", lambda found: DEPLOYED[found[1]], text)


def log_group_name(name):
    """The log group's name once deployed: its LogGroupName, or CloudFormation's <stack>-<logical id>-<suffix>."""
    given = RESOURCES[name]["Properties"].get("LogGroupName")
    if given is None:
        return f"{DEPLOYED['AWS::StackName']}-{name}-1A2B3C4D5E6F"
    return deployed(given["Fn::Sub"] if isinstance(given, dict) else given)


@pytest.mark.parametrize("name", sorted(resources_of("AWS::Logs::LogGroup")))
def test_every_log_group_is_encrypted_with_the_key_whose_policy_admits_it(name):
    assert RESOURCES[name]["Properties"]["KmsKeyId"] == THE_KEY
    arn = f"arn:aws:logs:eu-west-3:123456789012:log-group:{log_group_name(name)}"
    assert any(fnmatch.fnmatchcase(arn, deployed(pattern)) for pattern in _log_group_arn_patterns()), arn


def test_the_key_policy_admits_no_other_stage_s_log_groups():
    other = "arn:aws:logs:eu-west-3:123456789012:log-group:/aws/lambda/epay-list-invoices-dev"
    assert not any(fnmatch.fnmatchcase(other, deployed(pattern)) for pattern in _log_group_arn_patterns())


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_logs_into_a_declared_log_group(function):
    # Else Lambda creates /aws/lambda/<name> itself on first use: kept forever and not under the key.
    name = deployed("/aws/lambda/" + FUNCTIONS[function]["Properties"]["FunctionName"]["Fn::Sub"])
    assert name in {log_group_name(group) for group in resources_of("AWS::Logs::LogGroup")}


@pytest.mark.parametrize("name", sorted(resources_of("AWS::DynamoDB::Table")))
def test_every_table_is_encrypted_with_the_key(name):
    assert RESOURCES[name]["Properties"]["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": THE_KEY,
    }


@pytest.mark.parametrize("name", sorted(resources_of("AWS::SecretsManager::Secret")))
def test_every_secret_is_encrypted_with_the_key(name):
    assert RESOURCES[name]["Properties"]["KmsKeyId"] == THE_KEY


USE_THE_KEY_THROUGH_THE_SERVICES = [
    {
        "Sid": "UseTheStackKeyThroughDynamoDbAndSecretsManager",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": THE_KEY,
        "Condition": {"StringEquals": {"kms:ViaService": [via("dynamodb"), via("secretsmanager")]}},
    },
    {
        "Sid": "WriteWithTheStackKeyThroughDynamoDb",
        "Effect": "Allow",
        "Action": ["kms:GenerateDataKey"],
        "Resource": THE_KEY,
        "Condition": {"StringEquals": {"kms:ViaService": via("dynamodb")}},
    },
]


def statements_of(name):
    """Every statement of a resource's policies: a policy's document, a function's Policies, a role's Policies."""
    properties = RESOURCES[name]["Properties"]
    documents = [properties["PolicyDocument"]] if "PolicyDocument" in properties else []
    policies = [policy for policy in properties.get("Policies", []) if isinstance(policy, dict)]
    documents += [policy for policy in policies if "Statement" in policy]
    documents += [policy["PolicyDocument"] for policy in policies if "PolicyDocument" in policy]
    return [statement for document in documents for statement in listed(document["Statement"])]


SEND_TO_THE_DEAD_LETTER_QUEUE = {
    "Sid": "SendToTheDeadLetterQueueWithTheStackKey",
    "Effect": "Allow",
    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
    "Resource": THE_KEY,
    "Condition": {"StringEquals": {"kms:ViaService": via("sqs")}},
}


STREAM_EVENTS = {"DynamoDB", "Kinesis"}


def stream_failure_destinations(function):
    """The on-failure destination of each stream event (None where an event has none)."""
    events = FUNCTIONS[function]["Properties"].get("Events", {}).values()
    return [
        event["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        for event in events
        if event["Type"] in STREAM_EVENTS
    ]


def dead_letter_queue_of(function):
    """The queue where the function's failed events land: its DeadLetterQueue, or its stream's on-failure queue."""
    target = FUNCTIONS[function]["Properties"].get("DeadLetterQueue", {}).get("TargetArn")
    targets = [target, *stream_failure_destinations(function)]
    found = {target["Fn::GetAtt"][0] for target in targets if target}
    assert len(found) <= 1, f"{function}: one dead-letter queue"
    return found.pop() if found else None


@pytest.mark.parametrize("name", [*sorted(FUNCTIONS), "InvoiceLoaderPolicy"])
def test_whoever_reads_the_tables_and_secrets_may_use_the_key_through_them_only(name):
    granted = [statement for statement in statements_of(name) if uses(statement)]
    expected = list(USE_THE_KEY_THROUGH_THE_SERVICES)
    if name in FUNCTIONS and dead_letter_queue_of(name):
        # Lambda sends a failed event to the function's dead-letter queue as its role; the queue is under the key.
        assert RESOURCES[dead_letter_queue_of(name)]["Properties"]["KmsMasterKeyId"] == THE_KEY
        expected.append(SEND_TO_THE_DEAD_LETTER_QUEUE)
    assert granted == expected


@pytest.mark.parametrize("name", sorted(resources_of("AWS::SQS::Queue")))
def test_every_queue_is_encrypted_with_the_key(name):
    assert RESOURCES[name]["Properties"]["KmsMasterKeyId"] == THE_KEY


def test_no_policy_of_the_stack_grants_the_key_without_naming_the_service():
    for name, resource in RESOURCES.items():
        if resource["Type"] == "AWS::KMS::Key" or "Properties" not in resource:
            continue
        for statement in statements_of(name):
            if statement.get("Effect") == "Allow" and uses(statement):
                assert "kms:ViaService" in statement["Condition"]["StringEquals"], (name, statement)


# -- recovery, concurrency, dead-letter queues, VPC ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(resources_of("AWS::DynamoDB::Table")))
def test_every_table_that_cannot_be_rebuilt_has_point_in_time_recovery(name):
    recovery = RESOURCES[name]["Properties"].get("PointInTimeRecoverySpecification", {})
    if name == "RateLimitTable":
        # Counters of the current minute or hour, expiring by TTL: nothing to restore (skip reviewed below).
        assert not recovery.get("PointInTimeRecoveryEnabled")
        assert "CKV_AWS_28" in skipped(name)
    else:
        assert recovery == {"PointInTimeRecoveryEnabled": True}
        assert "CKV_AWS_28" not in skipped(name)


def test_every_function_has_reserved_concurrency_and_the_account_keeps_its_unreserved_minimum():
    reserved = {
        name: function["Properties"].get("ReservedConcurrentExecutions") for name, function in FUNCTIONS.items()
    }
    assert all(isinstance(value, int) and value > 0 for value in reserved.values()), reserved
    # Lambda keeps 100 of an account's concurrency unreserved: with the default quota of 1,000, 900 can be reserved.
    # Every function here, with the stage throttling at 100-200 requests/s, needs far less.
    assert sum(reserved.values()) <= 200, reserved
    assert reserved["GatewayCallbackFunction"] == 20


SYNCHRONOUS_EVENTS = {"HttpApi", "Api"}


def invokers(function):
    """How a function is invoked: its SAM events' types, and "Scheduler" for each schedule that targets it."""
    kinds = {event["Type"] for event in FUNCTIONS[function]["Properties"].get("Events", {}).values()}
    for schedule in resources_of("AWS::Scheduler::Schedule").values():
        if function in set(_references(schedule["Properties"]["Target"]["Arn"])):
            kinds.add("Scheduler")
    return kinds


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_functions_invoked_asynchronously_have_a_dead_letter_queue_and_only_synchronous_ones_skip_it(function):
    properties = FUNCTIONS[function]["Properties"]
    kinds = invokers(function)
    assert kinds, f"{function} is invoked by nothing"
    on_failure = properties.get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure")
    if kinds <= SYNCHRONOUS_EVENTS:
        assert "CKV_AWS_116" in skipped(function)
    else:
        # Schedules, S3, SNS, EventBridge, stream failures...: an invocation that fails for good must land somewhere.
        if kinds - STREAM_EVENTS - SYNCHRONOUS_EVENTS:
            assert properties.get("DeadLetterQueue") or on_failure, f"{function} ({kinds}) needs a dead-letter queue"
        # A stream's batches are not asynchronous invocations: each stream event needs its own on-failure queue.
        assert all(stream_failure_destinations(function)), f"{function}: a stream event without OnFailure"
        assert "CKV_AWS_116" not in skipped(function)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_only_functions_outside_a_vpc_skip_the_vpc_check(function):
    assert ("CKV_AWS_117" in skipped(function)) == ("VpcConfig" not in FUNCTIONS[function]["Properties"])


def test_function_environments_name_secrets_and_never_hold_one():
    # Why CKV_AWS_173 (environment encrypted with the key) is skipped: there is nothing secret in the environment.
    secrets = set(resources_of("AWS::SecretsManager::Secret"))
    variable_maps = [TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]]
    variable_maps += [
        function["Properties"].get("Environment", {}).get("Variables", {}) for function in FUNCTIONS.values()
    ]
    for variables in variable_maps:
        for name, value in variables.items():
            if re.search(r"SECRET|KEY|PASSWORD|TOKEN", name):
                assert name.endswith("_ID"), name
                assert isinstance(value, dict), name
                assert value.get("Ref") in secrets, name


# -- checkov's skips: each with a reason, all reviewed in docs/operations.md ---------------------------------------


# The edge stack (us-east-1: the WAF web ACL, its log, the edge alarms) is checked by checkov too.
EDGE_RESOURCES = load_template(PROJECT_ROOT / "edge.yaml")["Resources"]


def template_skips():
    return {
        (name, skip["id"]): skip.get("comment", "")
        for resources in (RESOURCES, EDGE_RESOURCES)
        for name, resource in resources.items()
        for skip in skips(resource)
    }


def test_every_checkov_skip_names_a_check_and_gives_a_reason():
    found = template_skips()
    assert found, "the template's checkov skips"
    for (resource, check), comment in found.items():
        assert re.fullmatch(r"CKV_AWS_[0-9]+", check), (resource, check)
        assert len(comment.split()) >= 8, f"{resource} {check}: the reason must say why the check does not apply"


def operations_skips():
    """The rows `| `Resource` | `CKV_AWS_n` ...` of docs/operations.md's "Checkov skips"."""
    section = OPERATIONS.split("\n### Checkov skips\n", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \| `(CKV_AWS_[0-9]+)`", section, re.MULTILINE))


def test_the_skips_reviewed_in_operations_md_are_the_template_s():
    assert operations_skips() == set(template_skips())


def test_make_lint_runs_checkov_pinned_and_offline():
    pins = [
        line
        for line in (PROJECT_ROOT / "requirements-checkov.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][A-Za-z0-9.+]*", pin) for pin in pins), "every package pinned"
    assert [pin for pin in pins if pin.startswith("checkov==")] == ["checkov==3.3.30"]
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^lint: .*\bcheckov\b", makefile, re.MULTILINE)
    assert "--skip-download" in makefile
    assert "CKV_SKIP_PACKAGE_UPDATE_CHECK=true" in makefile
