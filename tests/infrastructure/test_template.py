"""template.yaml: what is deployed is what the code and the contract expect."""

from __future__ import annotations

import fnmatch
import importlib
import json
import re

import pytest

from epay.adapters.dynamodb.invoices import NUMBER_INDEX, UNPAID_INDEX
from epay.config import CMI_APIS, SETTINGS_MODELS, CallbackSettings, GatewaySettings, check
from epay_local.openapi_build import DOCUMENT_PATH, render_document
from epay_local.template import PROJECT_ROOT, load_template, routes, table_definitions

pytestmark = pytest.mark.infrastructure

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
PARAMETERS = TEMPLATE["Parameters"]
OPERATIONS = (PROJECT_ROOT / "docs/operations.md").read_text(encoding="utf-8")


def resources_of(kind):
    return {name: resource for name, resource in RESOURCES.items() if resource["Type"] == kind}


# Every function of the template: the three behind the HTTP API and the scheduled recovery pass.
FUNCTIONS = sorted(resources_of("AWS::Serverless::Function"))
# Those behind the HTTP API (their events are its routes).
API_FUNCTIONS = sorted({route.function for route in routes()})


def test_functions_run_python_3_11_on_arm64_with_the_common_layer():
    function_globals = TEMPLATE["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.11"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Layers"] == [{"Ref": "CommonLayer"}]


def test_the_layer_is_built_by_sam_for_python_3_11():
    layer = RESOURCES["CommonLayer"]
    assert layer["Metadata"]["BuildMethod"] == "python3.11"
    assert layer["Properties"]["ContentUri"] == "layers/common/"
    assert (PROJECT_ROOT / "layers/common/requirements.txt").is_file()


def test_every_route_has_a_handler_and_handler_modules_are_unique():
    handlers = {}
    for route in routes():
        source = route.code_uri / f"{route.module}.py"
        assert source.is_file(), source
        assert f"def {route.attribute}(" in source.read_text(encoding="utf-8")
        handlers.setdefault(route.module, set()).add(route.function)
    assert all(len(functions) == 1 for functions in handlers.values())


def test_the_contract_routes_are_deployed_to_the_right_function():
    deployed = {(route.method, route.path): route.function for route in routes()}
    assert deployed == {
        ("POST", "/v1/invoices/search"): "ListInvoicesFunction",
        ("GET", "/v1/openapi.json"): "ListInvoicesFunction",
        ("GET", "/v1/receipts/{receipt_code}"): "ListInvoicesFunction",
        ("POST", "/v1/payments"): "CreatePaymentFunction",
        ("GET", "/v1/payments/{payment_id}"): "CreatePaymentFunction",
        ("POST", "/v1/payments/{payment_id}/cancel"): "CreatePaymentFunction",
        ("GET", "/v1/payments/{payment_id}/receipt.pdf"): "ReceiptFunction",
        ("GET", "/v1/payments/{payment_id}/return"): "GatewayCallbackFunction",
        ("POST", "/v1/payments/{payment_id}/return"): "GatewayCallbackFunction",
        ("POST", "/v1/callbacks/cmi"): "GatewayCallbackFunction",
        ("POST", "/v1/callbacks/m2t"): "GatewayCallbackFunction",
        ("POST", "/v1/callbacks/fatourati/inquiry"): "GatewayCallbackFunction",
        ("POST", "/v1/callbacks/fatourati/confirm"): "GatewayCallbackFunction",
    }


def _policy_text(function: str) -> str:
    return json.dumps(RESOURCES[function]["Properties"]["Policies"])


def test_the_callback_function_cannot_touch_rate_limits_or_idempotency_records():
    policies = _policy_text("GatewayCallbackFunction")
    assert "RateLimitTable" not in policies
    assert "IdempotencyTable" not in policies
    environment = RESOURCES["GatewayCallbackFunction"]["Properties"]["Environment"]["Variables"]
    assert "EPAY_RATE_LIMIT_TABLE" not in environment


def test_the_lookup_cannot_write_payments_or_read_gateway_secrets():
    # Its one PutItem records redeemed lookup proofs in the rate-limit table, under their prefix only (api.md §8).
    policies = _policy_text("ListInvoicesFunction").replace(
        '"Sid": "RecordRedeemedProofs", "Effect": "Allow", "Action": ["dynamodb:PutItem"]', ""
    )
    for forbidden in (
        "PutItem",
        "TransactWrite",
        "DeleteItem",
        "Crud",
        "CmiStoreKeySecret",
        "M2tSecret",
        "FatouratiSecret",
    ):
        assert forbidden not in policies


def test_no_function_may_scan_or_delete_invoices():
    for function in FUNCTIONS:
        policies = _policy_text(function)
        assert "dynamodb:Scan" not in policies
        assert "Crud" not in policies


def test_gateway_secrets_come_from_secrets_manager():
    for secret in ("CmiStoreKeySecret", "M2tSecret", "FatouratiSecret"):
        assert RESOURCES[secret]["Type"] == "AWS::SecretsManager::Secret"
    for function in ("CreatePaymentFunction", "GatewayCallbackFunction"):
        environment = RESOURCES[function]["Properties"]["Environment"]["Variables"]
        assert environment["EPAY_CMI_STORE_KEY_ID"] == {"Ref": "CmiStoreKeySecret"}
        assert "EPAY_CMI_STORE_KEY" not in environment


def test_idempotency_records_expire_by_ttl():
    assert table_definitions()["IdempotencyTable"]["_ttl_attribute"] == "expiration"
    assert RESOURCES["IdempotencyTable"]["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]


@pytest.mark.parametrize(
    ("alarm", "metric"), [("SignatureRejectedAlarm", "SignatureRejected"), ("NeedsReviewAlarm", "NeedsReview")]
)
def test_alarms_watch_forged_callbacks_and_payments_needing_review(alarm, metric):
    properties = RESOURCES[alarm]["Properties"]
    assert properties["Namespace"] == "Epay"
    assert properties["MetricName"] == metric


def test_cors_is_limited_to_the_portal_origin_and_routes_are_throttled():
    api = RESOURCES["HttpApi"]["Properties"]
    assert api["CorsConfiguration"]["AllowOrigins"] == [{"Ref": "PortalOrigin"}]
    assert "ThrottlingRateLimit" in api["DefaultRouteSettings"]
    assert "ThrottlingBurstLimit" in api["DefaultRouteSettings"]


@pytest.mark.parametrize("name", ["EpayTable", "RateLimitTable", "IdempotencyTable"])
def test_tables_are_on_demand_and_encrypted(name):
    properties = RESOURCES[name]["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"]["SSEEnabled"] is True


def test_the_invoice_table_is_protected_and_recoverable():
    table = RESOURCES["EpayTable"]
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"


def test_rate_limit_counters_expire_by_ttl():
    assert table_definitions()["RateLimitTable"]["_ttl_attribute"] == "expires_at"


def test_the_public_reads_only_query_the_unpaid_indexes_get_receipts_and_payments_and_count_rate_limits():
    # DynamoDBReadPolicy granted GetItem, BatchGetItem and Scan on the whole table; a lookup only queries the indexes,
    # a receipt's verification only gets a receipt code's item and its payment's (never an invoice).
    policies = RESOURCES["ListInvoicesFunction"]["Properties"]["Policies"]
    assert not any(name.startswith("DynamoDB") for policy in policies for name in policy)
    # Besides the stack key's use through DynamoDB and Secrets Manager (test_hardening.py):
    statements = [
        s for policy in policies for s in policy.get("Statement", []) if not s["Action"][0].startswith("kms:")
    ]
    assert statements == [
        {
            "Sid": "QueryUnpaidInvoices",
            "Effect": "Allow",
            "Action": ["dynamodb:Query"],
            "Resource": [
                {"Fn::Sub": f"${{EpayTable.Arn}}/index/{UNPAID_INDEX}"},
                {"Fn::Sub": f"${{EpayTable.Arn}}/index/{NUMBER_INDEX}"},
            ],
        },
        {
            "Sid": "ReadReceiptsAndTheirPayments",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem"],
            "Resource": {"Fn::GetAtt": ["EpayTable", "Arn"]},
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["RECEIPT#*", "PAYMENT#*"]}},
        },
        {"Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": {"Fn::GetAtt": ["RateLimitTable", "Arn"]}},
        {
            "Sid": "RecordRedeemedProofs",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem"],
            "Resource": {"Fn::GetAtt": ["RateLimitTable", "Arn"]},
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["proof#*"]}},
        },
    ]


# What SAM's policy templates grant (samtranslator's policy_templates.json); any other template, or a managed policy,
# must be reviewed and listed here first.
_DYNAMODB_READ = [
    "dynamodb:GetItem",
    "dynamodb:Scan",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:DescribeTable",
]
REVIEWED_POLICY_TEMPLATES = {
    "AWSSecretsManagerGetSecretValuePolicy": ["secretsmanager:GetSecretValue"],
    "DynamoDBReadPolicy": _DYNAMODB_READ,
    "DynamoDBCrudPolicy": [
        *_DYNAMODB_READ,
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
    ],
}


def granted_actions():
    """(resource, action) for every action any policy of the template grants, SAM templates expanded."""
    for name, resource in RESOURCES.items():
        policies = resource.get("Properties", {}).get("Policies", [])
        documents = [resource["Properties"]["PolicyDocument"]] if "PolicyDocument" in resource["Properties"] else []
        if isinstance(policies, (str, dict)):
            policies = [policies]
        for policy in policies:
            assert isinstance(policy, dict), f"{name}: managed policy {policy!r} is not reviewed"
            for key, value in policy.items():
                if key == "Statement":
                    documents.append(policy)
                elif key == "PolicyDocument":
                    documents.append(value)
                elif key != "PolicyName":
                    assert key in REVIEWED_POLICY_TEMPLATES, f"{name}: policy template {key} is not reviewed"
                    yield from ((name, action) for action in REVIEWED_POLICY_TEMPLATES[key])
        for document in documents:
            statements = document["Statement"]
            for statement in [statements] if isinstance(statements, dict) else statements:
                if statement.get("Effect") == "Allow":
                    actions = statement.get("Action", [])
                    yield from ((name, action) for action in ([actions] if isinstance(actions, str) else actions))


def test_no_function_may_scan_and_only_the_operators_one_off_migration_may():
    granted = list(granted_actions())
    assert granted, "the walk found the functions' policies"
    scans = [(name, action) for name, action in granted if fnmatch.fnmatchcase("dynamodb:scan", action.lower())]
    functions = {name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::Serverless::Function"}
    assert not [name for name, _ in scans if name in functions]
    # `epay migrate-invoice-ids` (issue 9, item 4) reads the whole table once, from an operator's session.
    assert scans == [("InvoiceLoaderPolicy", "dynamodb:Scan")]


def test_secrets_come_from_secrets_manager_never_from_parameters():
    assert RESOURCES["CursorSecret"]["Type"] == "AWS::SecretsManager::Secret"
    environment = RESOURCES["ListInvoicesFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["EPAY_CURSOR_SECRET_ID"] == {"Ref": "CursorSecret"}
    assert "EPAY_CURSOR_SECRET" not in environment
    assert not [name for name in TEMPLATE["Parameters"] if "secret" in name.lower() or "key" in name.lower()]


def test_the_committed_openapi_document_matches_the_models():
    assert json.loads(DOCUMENT_PATH.read_text(encoding="utf-8")) == json.loads(render_document()), (
        "run `make openapi` and commit layers/common/epay/openapi.json"
    )


def test_only_unmatched_callback_evidence_expires_from_the_main_table():
    # The TTL attribute is one no payment, invoice or hold ever carries: `expires_at` would delete live payments.
    ttl = resources_of("AWS::DynamoDB::Table")["EpayTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "purge_at", "Enabled": True}


@pytest.mark.parametrize(
    ("alarm", "metric"),
    [
        ("UnappliedFundsAlarm", "UnappliedFunds"),
        ("CallbackFailedAlarm", "CallbackFailed"),
        ("CallbackRejectedAlarm", "CallbackRejected"),
    ],
)
def test_alarms_watch_money_to_return_and_callbacks_that_failed_for_good(alarm, metric):
    properties = resources_of("AWS::CloudWatch::Alarm")[alarm]["Properties"]
    assert (properties["MetricName"], properties["Threshold"]) == (metric, 1)
    assert "docs/operations.md" in properties["AlarmDescription"]


# -- the invoice-id key (issue 9, item 4) ---------------------------------------------------------------------


def test_the_invoice_id_key_is_a_generated_secret_kept_when_the_stack_goes():
    secret = RESOURCES["InvoiceIdKeySecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "GenerateSecretString" in secret["Properties"]
    assert secret["DeletionPolicy"] == "Retain"
    assert secret["UpdateReplacePolicy"] == "Retain"


def test_the_invoice_id_key_is_never_rotated():
    rotations = resources_of("AWS::SecretsManager::RotationSchedule")
    assert "InvoiceIdKeySecret" not in json.dumps(rotations)


def test_no_function_can_read_the_invoice_id_key():
    for function in resources_of("AWS::Serverless::Function"):
        assert "InvoiceIdKeySecret" not in json.dumps(RESOURCES[function]["Properties"])
        assert "EPAY_INVOICE_ID_KEY" not in json.dumps(RESOURCES[function]["Properties"])


def test_only_the_loader_policy_grants_the_invoice_id_key():
    granting = [name for name, resource in RESOURCES.items() if "InvoiceIdKeySecret" in json.dumps(resource)]
    assert granting == ["InvoiceLoaderPolicy"]
    (statement,) = [
        statement
        for statement in RESOURCES["InvoiceLoaderPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        if statement["Resource"] == {"Ref": "InvoiceIdKeySecret"}
    ]
    assert statement["Action"] == ["secretsmanager:GetSecretValue"]


# -- alarms: every function's errors and throttles, the API's 5xx (outside review, issue 9, item 8) ---------------

NOTIFIES_THE_ALARM_TOPIC = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def alarms_on(namespace, metric):
    return [
        alarm["Properties"]
        for alarm in resources_of("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["Namespace"] == namespace and alarm["Properties"]["MetricName"] == metric
    ]


# Throttles are alarmed where a payer or a gateway is refused. The recovery function (reserved concurrency 1) is
# throttled when an invocation finds the previous pass still running: Lambda keeps the event and retries it, and
# passes that never run are alarmed as such ("Recovery not running").
ALARMED = [(function, "Errors") for function in FUNCTIONS] + [(function, "Throttles") for function in API_FUNCTIONS]


@pytest.mark.parametrize(("function", "metric"), ALARMED)
def test_every_function_has_an_alarm_on_its_lambda_errors_and_api_functions_on_their_throttles(function, metric):
    watching = [
        alarm
        for alarm in alarms_on("AWS/Lambda", metric)
        if alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]
    ]
    assert len(watching) == 1
    (alarm,) = watching
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum",
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_http_api_5xx_are_watched_on_the_deployed_stage():
    (alarm,) = alarms_on("AWS/ApiGateway", "5xx")
    assert alarm["Dimensions"] == [
        {"Name": "ApiId", "Value": {"Ref": "HttpApi"}},
        {"Name": "Stage", "Value": {"Ref": "Stage"}},
    ]
    assert RESOURCES["HttpApi"]["Properties"]["StageName"] == {"Ref": "Stage"}
    assert alarm["Statistic"] == "Sum"
    assert alarm["Threshold"] == 5


def _description(alarm):
    description = alarm["Properties"]["AlarmDescription"]
    return description["Fn::Sub"] if isinstance(description, dict) else description


@pytest.mark.parametrize("name", sorted(resources_of("AWS::CloudWatch::Alarm")))
def test_every_alarm_notifies_the_alarm_topic_and_names_its_runbook_entry(name):
    alarm = RESOURCES[name]
    assert alarm["Properties"]["AlarmActions"] == NOTIFIES_THE_ALARM_TOPIC
    found = re.search(r'Runbook: docs/operations\.md, "([^"]+)"', _description(alarm))
    assert found, f"{name} names no runbook entry"
    assert f"\n### {found.group(1)}\n" in OPERATIONS, f"docs/operations.md has no entry {found.group(1)!r}"
    assert len(_description(alarm)) <= 1024, "CloudWatch's limit for a description"


# -- parameters: URLs are https, a custom domain turns the execute-api address off -----------------------------


def allowed(parameter, value):
    return re.fullmatch(PARAMETERS[parameter]["AllowedPattern"], value) is not None


@pytest.mark.parametrize("parameter", ["PublicApiUrl", "FrontendUrl", "M2tGatewayUrl", "M2tApiUrl"])
def test_urls_given_as_parameters_must_be_https(parameter):
    assert allowed(parameter, PARAMETERS[parameter].get("Default", GIVEN_AT_DEPLOYMENT.get(parameter)))
    assert allowed(parameter, "https://pay.example.ma/e-paiement/")
    for refused in (
        "http://pay.example.ma/",
        "javascript:alert(1)",
        "https://pay.example.ma/?next=https://evil.example",
        "https://pay.example.ma/#x",
        "https://user@pay.example.ma/",
        "",
    ):
        assert not allowed(parameter, refused), refused


def evaluate(value, parameters):
    """A template value with its conditions, Refs to parameters and Subs of parameters resolved."""
    if isinstance(value, list):
        return [evaluate(item, parameters) for item in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value and value["Ref"] in parameters:
        return parameters[value["Ref"]]
    if "Fn::Equals" in value:
        left, right = evaluate(value["Fn::Equals"], parameters)
        return left == right
    if "Fn::Not" in value:
        return not evaluate(value["Fn::Not"][0], parameters)
    if "Fn::And" in value:
        return all(evaluate(value["Fn::And"], parameters))
    if "Fn::Or" in value:
        return any(evaluate(value["Fn::Or"], parameters))
    if "Condition" in value and len(value) == 1:
        return evaluate(TEMPLATE["Conditions"][value["Condition"]], parameters)
    if "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        chosen = when_true if evaluate(TEMPLATE["Conditions"][condition], parameters) else when_false
        return evaluate(chosen, parameters)
    if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([A-Za-z]+)\}", lambda m: str(parameters.get(m[1], m[0])), value["Fn::Sub"])
    return {key: evaluate(item, parameters) for key, item in value.items()}


DEFAULTS = {name: parameter.get("Default") for name, parameter in PARAMETERS.items()}
WITH_DOMAIN = {
    **DEFAULTS,
    "ApiDomainName": "api.epaiement.portnet.ma",
    "ApiCertificateArn": "arn:aws:acm:eu-west-3:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-000000000001",
}


def test_without_a_custom_domain_the_api_answers_on_its_execute_api_address():
    assert DEFAULTS["ApiDomainName"] == DEFAULTS["ApiCertificateArn"] == ""
    api = RESOURCES["HttpApi"]["Properties"]
    assert evaluate(api["DisableExecuteApiEndpoint"], DEFAULTS) is False
    assert evaluate(TEMPLATE["Conditions"]["HasCustomDomain"], DEFAULTS) is False
    url = evaluate(TEMPLATE["Outputs"]["ApiUrl"]["Value"], DEFAULTS)
    assert url == "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/dev"


def test_a_custom_domain_fronts_the_stage_and_turns_the_execute_api_address_off():
    api = RESOURCES["HttpApi"]["Properties"]
    assert evaluate(api["DisableExecuteApiEndpoint"], WITH_DOMAIN) is True
    domain, mapping = RESOURCES["ApiDomain"], RESOURCES["ApiDomainMapping"]
    assert domain["Condition"] == mapping["Condition"] == "HasCustomDomain"
    assert domain["Properties"]["DomainName"] == {"Ref": "ApiDomainName"}
    (configuration,) = domain["Properties"]["DomainNameConfigurations"]
    assert configuration == {
        "CertificateArn": {"Ref": "ApiCertificateArn"},
        "EndpointType": "REGIONAL",
        "SecurityPolicy": "TLS_1_2",
    }
    assert mapping["Properties"] == {
        "DomainName": {"Ref": "ApiDomain"},
        "ApiId": {"Ref": "HttpApi"},
        "Stage": {"Ref": "HttpApi.Stage"},
    }
    assert evaluate(TEMPLATE["Outputs"]["ApiUrl"]["Value"], WITH_DOMAIN) == "https://api.epaiement.portnet.ma"
    assert TEMPLATE["Outputs"]["ApiDomainTarget"]["Condition"] == "HasCustomDomain"


@pytest.mark.parametrize("given", ["ApiDomainName", "ApiCertificateArn"])
def test_a_custom_domain_and_its_certificate_are_given_together_or_not_at_all(given):
    parameters = {**DEFAULTS, given: WITH_DOMAIN[given]}
    assert evaluate(TEMPLATE["Conditions"]["HasCustomDomain"], parameters) is False
    assert len(failing_rules(parameters)) == 1, "the stack refuses to deploy with one of the two"


def failing_rules(parameters):
    """The template's rules that refuse `parameters` (a rule without a condition always applies)."""
    return [
        name
        for name, rule in TEMPLATE["Rules"].items()
        if evaluate(rule.get("RuleCondition", True), parameters)
        and not all(evaluate(assertion["Assert"], parameters) for assertion in rule["Assertions"])
    ]


@pytest.mark.parametrize(("gateway", "api"), [(0, 0), (1, 1), (0, 1), (1, 0)])
def test_cmi_s_api_and_payment_page_are_of_the_same_environment(gateway, api):
    # A test-page payment is unknown to the production API (and back): recovery would let paid payments expire.
    parameters = {
        **DEFAULTS,
        "CmiGatewayUrl": PARAMETERS["CmiGatewayUrl"]["AllowedValues"][gateway],
        "CmiApiUrl": PARAMETERS["CmiApiUrl"]["AllowedValues"][api],
    }
    assert PARAMETERS["CmiApiUrl"]["AllowedValues"] == list(CMI_APIS)
    assert failing_rules(parameters) == ([] if gateway == api else ["CmiApiMatchesCmiGateway"])
    assert failing_rules(DEFAULTS) == []


def test_custom_domain_parameters_refuse_what_is_not_a_domain_or_a_certificate():
    assert allowed("ApiDomainName", "")
    assert allowed("ApiDomainName", WITH_DOMAIN["ApiDomainName"])
    assert not allowed("ApiDomainName", "https://api.epaiement.portnet.ma")
    assert allowed("ApiCertificateArn", "")
    assert allowed("ApiCertificateArn", WITH_DOMAIN["ApiCertificateArn"])
    assert not allowed("ApiCertificateArn", "arn:aws:iam::123456789012:server-certificate/x")


# -- configuration (issue 10, item 4): each function is given what its code requires, with the config's bounds ----

# function -> its handler's module (functions/<name>/ is on pytest's pythonpath, as SAM puts it on Lambda's).
HANDLERS = {name: RESOURCES[name]["Properties"]["Handler"].rsplit(".", 1)[0] for name in FUNCTIONS}
# The tunables a template parameter sets; the others keep the product's default on purpose.
TUNABLE_PARAMETERS = {
    "EPAY_LOOKUP_LIMIT_PER_MINUTE": "LookupLimitPerMinute",
    "EPAY_LOOKUP_MISSES_PER_HOUR": "LookupMissesPerHour",
    "EPAY_LOOKUP_MISSES_PER_PROOF": "LookupMissesPerProof",
    "EPAY_LOOKUP_CHALLENGE_MAX_NUMBER": "LookupChallengeMaxNumber",
    "EPAY_LOOKUP_CHALLENGE_TTL_SECONDS": "LookupChallengeTtlSeconds",
    "EPAY_PAYMENT_LIMIT_PER_MINUTE": "PaymentLimitPerMinute",
    "EPAY_PAYMENT_MISSES_PER_HOUR": "PaymentMissesPerHour",
    "EPAY_HOLD_SECONDS": "HoldSeconds",
    "EPAY_LIVE_PAYMENTS_PER_CODE": "LivePaymentsPerCode",
    "EPAY_REFERENCE_HOLD_SECONDS": "ReferenceHoldSeconds",
    "EPAY_RECOVERY_AFTER_SECONDS": "RecoveryAfterSeconds",
}
# The recovery pass's size keeps the product's defaults: EPAY_RECOVERY_PASS_SECONDS is bound to the function's
# Timeout (a template test), the batch and workers to what one pass can do in it; the interval is `epay serve`'s.
NOT_PARAMETERS = {
    "EPAY_CURSOR_TTL_SECONDS",
    "EPAY_DYNAMODB_ENDPOINT",
    "EPAY_SES_ENDPOINT",
    "EPAY_RECOVERY_BATCH",
    "EPAY_RECOVERY_PASS_SECONDS",
    "EPAY_RECOVERY_WORKERS",
    "EPAY_RECOVERY_INTERVAL_SECONDS",
}


def function_environment(function):
    """The variables a deployed function gets: the Globals', then its own."""
    variables = dict(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    variables.update(RESOURCES[function]["Properties"].get("Environment", {}).get("Variables", {}))
    return variables


def use_cases_of(function):
    return importlib.import_module(HANDLERS[function]).USE_CASES


def read_by(function):
    """Every variable the function's use cases read, required or not (secrets by their Secrets Manager id)."""
    read = set()
    for use_case in use_cases_of(function):
        read |= {variable for model in use_case.settings for variable in model.variables()}
        read |= {which.id_variable for which in use_case.secrets}
    return read


def settings_field(variable):
    """The setting that `variable` sets (the same in every group that reads it)."""
    fields = [field for model in SETTINGS_MODELS for field in model.model_fields.values() if field.alias == variable]
    assert fields, f"no setting reads {variable}"
    assert {repr((field.annotation, field.default, field.metadata)) for field in fields} == {
        repr((fields[0].annotation, fields[0].default, fields[0].metadata))
    }
    return fields[0]


def parameter_settings():
    """(function, variable, parameter) for each variable a function gets from a template parameter."""
    return [
        (function, variable, value["Ref"])
        for function in FUNCTIONS
        for variable, value in function_environment(function).items()
        if variable.startswith("EPAY_") and isinstance(value, dict) and value.get("Ref") in PARAMETERS
    ]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_variable_a_function_requires_is_set_on_it(function):
    required = set().union(*(use_case.variables(deployed=True) for use_case in use_cases_of(function)))
    missing = required - set(function_environment(function))
    assert not missing, f"{function} would refuse to start without {sorted(missing)}"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_is_given_only_variables_its_code_reads(function):
    given = {name for name in function_environment(function) if name.startswith("EPAY_")}
    assert given <= read_by(function) - {"EPAY_DYNAMODB_ENDPOINT"}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_tunable_a_function_reads_comes_from_its_parameter(function):
    defaulted = {
        variable
        for use_case in use_cases_of(function)
        for model in use_case.settings
        for variable, required in model.variables().items()
        if not required
    }
    assert defaulted - NOT_PARAMETERS <= set(TUNABLE_PARAMETERS)
    environment = function_environment(function)
    for variable in defaulted - NOT_PARAMETERS:
        assert environment[variable] == {"Ref": TUNABLE_PARAMETERS[variable]}


def test_no_function_is_told_it_is_local():
    for function in FUNCTIONS:
        assert not {"EPAY_LOCAL", "EPAY_DYNAMODB_ENDPOINT", "EPAY_SES_ENDPOINT"} & set(function_environment(function))
    assert "EPAY_LOCAL" not in json.dumps(TEMPLATE)


def test_the_callbacks_configure_the_gateways_as_the_payment_function_does():
    # CMI's echo is checked against the settings the payment's form was built with (docs/operations.md).
    payments, callbacks = function_environment("CreatePaymentFunction"), function_environment("GatewayCallbackFunction")
    for variable in [*GatewaySettings.variables(), *CallbackSettings.variables()]:
        assert callbacks[variable] == payments[variable]


def test_recovery_asks_about_the_merchants_the_payments_were_made_with_and_schedules_alike():
    # Its requests name CMI's client id and M2T's merchant id, and it schedules and extends as the callbacks do.
    payments, recovery = function_environment("CreatePaymentFunction"), function_environment("RecoveryFunction")
    for variable in ["EPAY_CMI_CLIENT_ID", "EPAY_M2T_MERCHANT_ID", *CallbackSettings.variables()]:
        assert recovery[variable] == payments[variable]
    # M2T's API is signed with the same secret as its checkout; CMI's API has its own account.
    assert recovery["EPAY_M2T_SECRET_ID"] == payments["EPAY_M2T_SECRET_ID"]
    assert recovery["EPAY_CMI_API_PASSWORD_ID"] == {"Ref": "CmiApiPasswordSecret"}
    assert "EPAY_CMI_STORE_KEY_ID" not in recovery


@pytest.mark.parametrize(("function", "variable", "parameter"), parameter_settings())
def test_a_parameter_carries_the_bounds_of_the_setting_it_sets(function, variable, parameter):
    field, spec = settings_field(variable), PARAMETERS[parameter]
    bounds = {type(bound).__name__: bound for bound in field.metadata}
    assert spec["Type"] == ("Number" if field.annotation is int else "String")
    assert spec.get("MinValue") == (bounds["Ge"].ge if "Ge" in bounds else None)
    assert spec.get("MaxValue") == (bounds["Le"].le if "Le" in bounds else None)
    assert spec.get("MinLength") == (bounds["MinLen"].min_length if "MinLen" in bounds else None)
    assert spec.get("MaxLength") == (bounds["MaxLen"].max_length if "MaxLen" in bounds else None)
    url, choices = bounds.get("PublicHttpsUrl") or bounds.get("PublicMailAddress"), bounds.get("OneOf")
    assert spec.get("AllowedPattern") == (url.pattern if url else None)
    assert spec.get("AllowedValues") == (list(choices.values) if choices else None)
    if not field.is_required():
        assert spec["Default"] == field.default


# What an operator must give at deployment (no default); any value that is not a test one.
GIVEN_AT_DEPLOYMENT = {
    "CmiClientId": "600123456",
    "M2tMerchantId": "PORTNET",
    "CmiApiUser": "portnet-api",
    "M2tApiUrl": "https://api.amanpay.ma/merchant",
    "EdgeWebAclArn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/epay-dev/0f1e2d3c-aaaa-bbbb-cccc-00000000000a",
    "MailFrom": "e-paiement@portnet.ma",
}


def deployed_environment(function, parameters):
    """The function's environment once deployed with `parameters` (resources by a stand-in name or id)."""
    environ = {"AWS_LAMBDA_FUNCTION_NAME": f"{function}-dev"}
    for variable, value in function_environment(function).items():
        reference = value.get("Ref") if isinstance(value, dict) else None
        if reference in PARAMETERS:
            environ[variable] = str(parameters[reference])
        elif reference in RESOURCES:
            environ[variable] = f"{reference}-dev"
        else:
            environ[variable] = str(value)
    return environ


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_deployed_with_the_parameters_defaults_starts(function):
    use_cases = use_cases_of(function)
    check(
        (model for use_case in use_cases for model in use_case.settings),
        (which for use_case in use_cases for which in use_case.secrets),
        deployed_environment(function, {**DEFAULTS, **GIVEN_AT_DEPLOYMENT}),
    )


def test_merchant_ids_have_no_default_a_deployment_could_keep():
    # The gateways assign them; so are CMI's API user and M2T's API address (nothing to guess); and no stage goes
    # without the WAF web ACL of its edge stack.
    assert set(GIVEN_AT_DEPLOYMENT) == {name for name, spec in PARAMETERS.items() if "Default" not in spec}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_secrets_reach_functions_as_secrets_manager_ids(function):
    environment = function_environment(function)
    for use_case in use_cases_of(function):
        for which in use_case.secrets:
            assert RESOURCES[environment[which.id_variable]["Ref"]]["Type"] == "AWS::SecretsManager::Secret"
            assert which.variable not in environment


# -- tracing (issue 10, item 7): X-Ray is on exactly where the handlers are traced (docs/architecture.md) ---------


@pytest.mark.parametrize("function", FUNCTIONS)
def test_x_ray_tracing_is_on_only_where_the_handler_is_traced(function):
    properties = RESOURCES[function]["Properties"]
    mode = properties.get("Tracing", TEMPLATE["Globals"]["Function"].get("Tracing"))
    source = PROJECT_ROOT / properties["CodeUri"] / f"{HANDLERS[function]}.py"
    traced = "capture_lambda_handler" in source.read_text(encoding="utf-8")
    assert mode in ("Active", "Disabled")
    assert (mode == "Active") == traced
