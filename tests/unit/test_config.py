"""Configuration that fails fast (issue 10, item 4): a deployed function refuses to start on a missing or local
setting, naming the variable and never its value; each function checks only what its use cases read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import create_payment_handler
import gateway_callback_handler
import list_invoices_handler
import receipt_handler
from epay import config, runtime
from epay.config import InvalidSettings, MissingSecret
from epay_local.cli import local_environment, main
from epay_local.gateway import LocalFunction
from epay_local.template import routes
from tests.conftest import TEST_ENVIRONMENT

USE_CASES = {"LOOKUP": runtime.LOOKUP, "PAYMENTS": runtime.PAYMENTS, "CALLBACKS": runtime.CALLBACKS}
USE_CASES["IDEMPOTENCY"] = runtime.IDEMPOTENCY
USE_CASES["EDGE"] = runtime.EDGE
EVERY_USE_CASE = tuple(USE_CASES.values())

# What a deployment of template.yaml gives its functions (secrets by their Secrets Manager ids).
DEPLOYED = {
    "AWS_LAMBDA_FUNCTION_NAME": "epay-create-payment-prod",
    "EPAY_TABLE": "epay-prod",
    "EPAY_RATE_LIMIT_TABLE": "epay-rate-limits-prod",
    "EPAY_IDEMPOTENCY_TABLE": "epay-idempotency-prod",
    "EPAY_PUBLIC_API_URL": "https://api.epaiement.portnet.ma",
    "EPAY_FRONTEND_URL": "https://www.portnet.ma/e-paiement/",
    "EPAY_CMI_CLIENT_ID": "600123456",
    "EPAY_CMI_GATEWAY_URL": "https://payment.cmi.co.ma/fim/est3Dgate",
    "EPAY_M2T_MERCHANT_ID": "PORTNET",
    "EPAY_M2T_GATEWAY_URL": "https://checkout.amanpay.ma/checkout",
    "EPAY_LOOKUP_LIMIT_PER_MINUTE": "60",
    "EPAY_HOLD_SECONDS": "1800",
    "EPAY_CURSOR_SECRET_ID": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:epay/prod/cursor-secret-AbCdEf",
    "EPAY_CHALLENGE_SECRET_ID": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:epay/prod/challenge-secret-AbCdEf",
    "EPAY_CMI_STORE_KEY_ID": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:epay/prod/cmi-store-key-AbCdEf",
    "EPAY_M2T_SECRET_ID": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:epay/prod/m2t-secret-AbCdEf",
    "EPAY_FATOURATI_SECRET_ID": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:epay/prod/fatourati-Ab",
    "EPAY_ORIGIN_SECRET_ID": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:epay/prod/origin-verify-Ab",
}
REQUIRED_WHEN_DEPLOYED = sorted(set().union(*(use_case.variables(deployed=True) for use_case in EVERY_USE_CASE)))

# Values only the local stack (`epay serve`) and the tests use, which a deployed function refuses.
LOCAL_VALUES = [
    ("EPAY_PUBLIC_API_URL", "http://127.0.0.1:8080"),
    ("EPAY_PUBLIC_API_URL", "http://api.epaiement.portnet.ma"),
    ("EPAY_PUBLIC_API_URL", "https://localhost:8443"),
    ("EPAY_PUBLIC_API_URL", "https://127.0.0.1/"),
    ("EPAY_PUBLIC_API_URL", "https://pay.localhost"),
    ("EPAY_PUBLIC_API_URL", "https://0.0.0.0:8080"),
    ("EPAY_PUBLIC_API_URL", "https://192.168.1.20/api"),
    ("EPAY_FRONTEND_URL", "http://127.0.0.1:8080/"),
    ("EPAY_FRONTEND_URL", "https://www.portnet.ma/?next=https://evil.example"),
    ("EPAY_CMI_GATEWAY_URL", "http://127.0.0.1:8080/_sim/cmi/est3Dgate"),
    ("EPAY_CMI_GATEWAY_URL", "https://cmi.example/fim/est3Dgate"),
    ("EPAY_M2T_GATEWAY_URL", "http://127.0.0.1:8080/_sim/m2t/checkout"),
    ("EPAY_CMI_CLIENT_ID", "600000000"),
    ("EPAY_M2T_MERCHANT_ID", "PORTNET-TEST"),
    ("EPAY_DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
    ("EPAY_CHALLENGE_SECRET", "a-challenge-secret-in-plain-sight"),
    ("EPAY_CURSOR_SECRET", "a-cursor-secret-in-plain-sight"),
    ("EPAY_CMI_STORE_KEY", "a-store-key-in-plain-sight"),
    ("EPAY_M2T_SECRET", "an-m2t-secret-in-plain-sight"),
    ("EPAY_FATOURATI_SECRET", "a-fatourati-secret-in-plain-sight"),
]


def check_all(environ):
    config.check(
        (model for use_case in EVERY_USE_CASE for model in use_case.settings),
        (which for use_case in EVERY_USE_CASE for which in use_case.secrets),
        environ,
    )


def refusal(environ) -> InvalidSettings:
    with pytest.raises(InvalidSettings) as refused:
        check_all(environ)
    return refused.value


def test_a_deployment_of_the_template_is_accepted():
    check_all(DEPLOYED)


@pytest.mark.parametrize("variable", REQUIRED_WHEN_DEPLOYED)
def test_a_deployed_function_refuses_a_missing_required_setting_naming_it(variable):
    environ = {name: value for name, value in DEPLOYED.items() if name != variable}

    refused = refusal(environ)

    assert refused.variables == [variable]
    assert str(refused).startswith(f"{variable}: required, not set")


@pytest.mark.parametrize("variable", REQUIRED_WHEN_DEPLOYED)
def test_an_empty_variable_is_a_missing_one(variable):
    assert refusal({**DEPLOYED, variable: ""}).variables == [variable]


@pytest.mark.parametrize(("variable", "value"), LOCAL_VALUES)
def test_a_deployed_function_refuses_a_local_value_naming_the_variable_never_the_value(variable, value):
    refused = refusal({**DEPLOYED, variable: value})

    assert refused.variables == [variable]
    assert value not in str(refused)
    assert variable in str(refused)


def test_every_problem_is_named_at_once():
    environ = {**DEPLOYED, "EPAY_HOLD_SECONDS": "soon", "EPAY_CMI_CLIENT_ID": "600000000"}
    del environ["EPAY_M2T_SECRET_ID"], environ["EPAY_TABLE"]

    refused = refusal(environ)

    assert sorted(refused.variables) == [
        "EPAY_CMI_CLIENT_ID",
        "EPAY_HOLD_SECONDS",
        "EPAY_M2T_SECRET_ID",
        "EPAY_TABLE",
    ]
    assert "soon" not in str(refused)


@pytest.mark.parametrize(("variable", "value"), LOCAL_VALUES)
def test_outside_lambda_and_in_sam_local_the_same_values_are_accepted(variable, value):
    locally = {**TEST_ENVIRONMENT, variable: value}
    check_all({name: value for name, value in locally.items() if name != "AWS_LAMBDA_FUNCTION_NAME"})
    check_all({**locally, "AWS_LAMBDA_FUNCTION_NAME": "epay-local", "EPAY_LOCAL": "1"})


def test_only_epay_local_1_marks_a_lambda_process_local():
    assert config.is_deployed({"AWS_LAMBDA_FUNCTION_NAME": "f"})
    assert config.is_deployed({"AWS_LAMBDA_FUNCTION_NAME": "f", "EPAY_LOCAL": "true"})
    assert not config.is_deployed({"AWS_LAMBDA_FUNCTION_NAME": "f", "EPAY_LOCAL": "1"})
    assert not config.is_deployed({"EPAY_LOCAL": "0"})
    assert not config.is_deployed({})


def test_epay_serve_gives_every_setting_a_working_local_value():
    check_all({**local_environment("127.0.0.1", 8080), "EPAY_LOCAL": "1"})


def test_the_tests_environment_deployed_is_refused_only_for_its_test_merchants_and_plain_secrets():
    refused = refusal({**TEST_ENVIRONMENT, "AWS_LAMBDA_FUNCTION_NAME": "f"})
    assert set(refused.variables) == {
        "EPAY_CMI_CLIENT_ID",
        "EPAY_M2T_MERCHANT_ID",
        "EPAY_CURSOR_SECRET",
        "EPAY_CHALLENGE_SECRET",
        "EPAY_CMI_STORE_KEY",
        "EPAY_M2T_SECRET",
        "EPAY_FATOURATI_SECRET",
        # Tests run without a distribution in front: deployed, CloudFront's origin secret is required.
        "EPAY_ORIGIN_SECRET_ID",
    }
    for name, value in TEST_ENVIRONMENT.items():
        if "SECRET" in name or name.endswith("_KEY"):
            assert value not in str(refused)


def test_outside_lambda_a_secret_needs_its_value_or_its_id():
    environ = {name: value for name, value in TEST_ENVIRONMENT.items() if name != "EPAY_CMI_STORE_KEY"}
    assert refusal(environ).variables == ["EPAY_CMI_STORE_KEY"]
    check_all({**environ, "EPAY_CMI_STORE_KEY_ID": "epay/dev/cmi-store-key"})


def test_tunables_keep_their_defaults_and_their_bounds():
    assert config.PaymentSettings.from_environment({**DEPLOYED}).payment_misses_per_hour == 20
    refused = refusal({**DEPLOYED, "EPAY_HOLD_SECONDS": "59"})
    assert refused.problems == (("EPAY_HOLD_SECONDS", "Input should be greater than or equal to 60"),)


def test_settings_are_parsed_once_per_container(monkeypatch):
    first = config.load(config.LookupSettings)
    monkeypatch.setenv("EPAY_LOOKUP_LIMIT_PER_MINUTE", "7")
    assert config.load(config.LookupSettings) is first
    runtime.reset()
    assert config.load(config.LookupSettings).lookup_limit_per_minute == 7


# -- at cold start: the handler's import --------------------------------------------------------------------------

HANDLERS = {route.function: route for route in routes()}


def import_deployed(function, monkeypatch, environ):
    """A fresh import of the function's handler (a cold start) in a Lambda-like environment."""
    for name in [*TEST_ENVIRONMENT, "EPAY_LOCAL"]:
        if name.startswith("EPAY_"):
            monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    return LocalFunction(HANDLERS[function]).load_module()


def only(use_cases, deployed=True):
    """`DEPLOYED` cut down to what `use_cases` read (required or not)."""
    read = {"AWS_LAMBDA_FUNCTION_NAME"}
    for use_case in use_cases:
        read |= {variable for model in use_case.settings for variable in model.variables()}
        read |= {which.id_variable if deployed else which.variable for which in use_case.secrets}
    return {name: value for name, value in DEPLOYED.items() if name in read}


@pytest.mark.parametrize(
    ("function", "module"),
    [
        ("ListInvoicesFunction", list_invoices_handler),
        ("CreatePaymentFunction", create_payment_handler),
        ("GatewayCallbackFunction", gateway_callback_handler),
    ],
)
def test_a_deployed_function_starts_with_exactly_what_its_use_cases_read(function, module, monkeypatch):
    fresh = import_deployed(function, monkeypatch, only(module.USE_CASES))
    assert fresh.USE_CASES == module.USE_CASES


@pytest.mark.parametrize(
    ("function", "variable"),
    [
        ("ListInvoicesFunction", "EPAY_RATE_LIMIT_TABLE"),
        ("ListInvoicesFunction", "EPAY_CURSOR_SECRET_ID"),
        ("CreatePaymentFunction", "EPAY_IDEMPOTENCY_TABLE"),
        ("CreatePaymentFunction", "EPAY_M2T_MERCHANT_ID"),
        ("CreatePaymentFunction", "EPAY_FATOURATI_SECRET_ID"),
        ("GatewayCallbackFunction", "EPAY_CMI_CLIENT_ID"),
        ("GatewayCallbackFunction", "EPAY_FRONTEND_URL"),
        ("ListInvoicesFunction", "EPAY_ORIGIN_SECRET_ID"),
        ("CreatePaymentFunction", "EPAY_ORIGIN_SECRET_ID"),
        ("GatewayCallbackFunction", "EPAY_ORIGIN_SECRET_ID"),
    ],
)
def test_a_deployed_function_refuses_to_start_without_a_variable_it_needs(function, variable, monkeypatch):
    environ = {name: value for name, value in DEPLOYED.items() if name != variable}
    with pytest.raises(InvalidSettings, match=re.escape(variable)):
        import_deployed(function, monkeypatch, environ)


def test_the_lookup_starts_without_any_gateway_setting(monkeypatch):
    environ = only([runtime.EDGE, runtime.LOOKUP])
    assert not {name for name in environ if "CMI" in name or "M2T" in name or "FATOURATI" in name}
    import_deployed("ListInvoicesFunction", monkeypatch, environ)


def test_a_deployed_function_refuses_to_start_on_a_local_value(monkeypatch):
    with pytest.raises(InvalidSettings, match="EPAY_PUBLIC_API_URL"):
        import_deployed(
            "GatewayCallbackFunction", monkeypatch, {**DEPLOYED, "EPAY_PUBLIC_API_URL": "http://127.0.0.1:8080"}
        )


# -- each builder reads what its use case declares, and nothing else it cannot do without ------------------------

BUILDERS = {
    "invoice_lookup": runtime.LOOKUP,
    "receipt_verifier": runtime.RECEIPTS,
    "receipt_documents": runtime.RECEIPT_DOCUMENTS,
    "payment_service": runtime.PAYMENTS,
    "callback_service": runtime.CALLBACKS,
    "gateway_settings": runtime.CALLBACKS,
    "idempotency": runtime.IDEMPOTENCY,
    "edge": runtime.EDGE,
}


def keep_only(monkeypatch, variables):
    for name in TEST_ENVIRONMENT:
        if name.startswith("EPAY_") and name not in variables:
            monkeypatch.delenv(name)
    runtime.reset()


@pytest.mark.parametrize("builder", BUILDERS)
def test_a_use_case_is_built_from_its_declared_variables_alone(builder, monkeypatch):
    keep_only(monkeypatch, BUILDERS[builder].variables(deployed=False))
    assert getattr(runtime, builder)() is not None


# What each builder cannot do without (the browser return's `gateway_settings` reads no table and no secret).
NEEDED = {builder: use_case.variables(deployed=False) for builder, use_case in BUILDERS.items()}
NEEDED["gateway_settings"] = {name for name, required in config.GatewaySettings.variables().items() if required}


@pytest.mark.parametrize(
    ("builder", "variable"), [(builder, variable) for builder, needed in NEEDED.items() for variable in sorted(needed)]
)
def test_a_use_case_cannot_be_built_without_any_of_its_required_variables(builder, variable, monkeypatch):
    keep_only(monkeypatch, NEEDED[builder] - {variable})
    with pytest.raises((InvalidSettings, MissingSecret), match=re.escape(variable)):
        getattr(runtime, builder)()


@pytest.mark.parametrize(
    "module", [list_invoices_handler, create_payment_handler, gateway_callback_handler, receipt_handler]
)
def test_each_handler_declares_the_use_cases_it_calls(module):
    source = Path(module.__file__).read_text(encoding="utf-8")
    # Called, or handed over to be called (`resolve(..., runtime.edge)`).
    called = set(re.findall(r"\bruntime\.([a-z_]+)\s*[(,)]", source)) - {"start"}
    assert called <= set(BUILDERS), "a new builder: list it in BUILDERS with its use case"
    assert {BUILDERS[name] for name in called} == set(module.USE_CASES)


# -- the operator's tools ----------------------------------------------------------------------------------------


def test_the_loader_against_aws_needs_the_stack_s_table_named(tmp_path, capsys, monkeypatch):
    line = (
        '{"subscription_code": "AB12", "invoice_number": "F-1", "issuer_code": "ANP", "issuer_name": "ANP", '
        '"issue_date": "2026-01-15", "amount": "10.00"}'
    )
    (tmp_path / "invoices.jsonl").write_text(line + "\n", encoding="utf-8")
    monkeypatch.delenv("EPAY_TABLE")

    assert main(["load-invoices", str(tmp_path / "invoices.jsonl")]) == 2
    assert "EPAY_TABLE: required, not set (give --table" in capsys.readouterr().err


# -- the merchant APIs: no function reads them yet, and they follow the same rules --------------------------------

API_DEPLOYED = {
    **DEPLOYED,
    "EPAY_CMI_API_URL": "https://payment.cmi.co.ma/fim/api",
    "EPAY_CMI_API_USER": "portnet-api",
    "EPAY_M2T_API_URL": "https://checkout.amanpay.ma/api",
    "EPAY_CMI_API_PASSWORD_ID": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:epay/prod/cmi-api-password-Ab",
}


def check_the_apis(environ):
    config.check([config.GatewayApiSettings], [config.CMI_API_PASSWORD], environ)


def test_no_function_reads_the_merchant_apis_yet():
    for use_case in EVERY_USE_CASE:
        assert config.GatewayApiSettings not in use_case.settings
        assert config.CMI_API_PASSWORD not in use_case.secrets


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EPAY_CMI_API_URL", "http://127.0.0.1:8080/_sim/cmi/api"),
        ("EPAY_M2T_API_URL", "http://127.0.0.1:8080/_sim/m2t"),
        ("EPAY_CMI_API_USER", ""),
        ("EPAY_CMI_API_PASSWORD", "a-cmi-api-password-in-plain-sight"),
    ],
)
def test_deployed_the_merchant_apis_refuse_local_or_missing_values(variable, value):
    check_the_apis(API_DEPLOYED)
    with pytest.raises(InvalidSettings) as refused:
        check_the_apis({**API_DEPLOYED, variable: value})
    assert refused.value.variables == [variable]
    assert not value or value not in str(refused.value)
