"""Settings: what each use case reads from the environment, parsed once per container into typed models.

Every variable is named here as it is spelt (`Field(alias="EPAY_...")`, `Secret(...)`). A setting no value could fit
everywhere — a table, an address, a merchant id, a gateway, a secret — has no default: template.yaml sets it on the
functions that read it, and `epay serve` (local/epay_local/cli.py) gives the local stack its own. A tunable (a limit,
a duration) has the product's default, which the template parameter that sets it repeats.

Deployed or local: a function is deployed when Lambda runs it (`AWS_LAMBDA_FUNCTION_NAME` is set) and `EPAY_LOCAL`
is not `1` (`epay serve` sets it; so may `sam local`, through an env-vars file). Deployed, a setting must also be
more than a local value: an https:// URL of a public host, CMI's test or production gateway, a merchant id that is
not a test one, no DynamoDB endpoint, and each secret as the id of its Secrets Manager secret (`<NAME>_ID`), never
its value. A function checks what its use cases read when its handler is imported (`epay.runtime.start`), so a
deployed one refuses to start; `InvalidSettings` names each variable, never its value.

Secrets come either straight from the environment (the local stack, tests) or, in AWS, from Secrets Manager by the
id given in `<NAME>_ID` (e.g. `EPAY_CURSOR_SECRET_ID`), fetched on first use and cached for the container.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SECRET_CACHE_SECONDS = 300
LAMBDA_FUNCTION_NAME = "AWS_LAMBDA_FUNCTION_NAME"
LOCAL = "EPAY_LOCAL"

# An https:// URL without user, query or fragment: template.yaml's AllowedPattern for every URL parameter.
HTTPS_URL = r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._/-]*)?$"
CMI_GATEWAYS = ("https://testpayment.cmi.co.ma/fim/est3Dgate", "https://payment.cmi.co.ma/fim/est3Dgate")
CMI_APIS = ("https://testpayment.cmi.co.ma/fim/api", "https://payment.cmi.co.ma/fim/api")
# The clientid of CMI's published test vector (gateways.md) and the local stack's M2T merchant.
TEST_CMI_CLIENT_IDS = frozenset({"600000000"})
TEST_M2T_MERCHANT_IDS = frozenset({"PORTNET-TEST"})


def is_deployed(environ: Mapping[str, str] | None = None) -> bool:
    """Lambda runs this process, and it is not the local stack."""
    env = os.environ if environ is None else environ
    return bool(env.get(LAMBDA_FUNCTION_NAME)) and env.get(LOCAL) != "1"


class InvalidSettings(ValueError):
    """Settings a function must not run with; each problem names its variable, never its value (it may be secret)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{variable}: {reason}" for variable, reason in self.problems))

    @property
    def variables(self) -> list[str]:
        return [variable for variable, _ in self.problems]


# -- what a deployed function refuses --------------------------------------------------------------------------


def _is_public_host(host: str) -> bool:
    """Not this machine, and not an address only a private network reaches (names are taken as they are)."""
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    return address.is_global


@dataclass(frozen=True)
class PublicHttpsUrl:
    """Deployed, a URL the gateways or the payer's browser reach: https:// (`pattern`), on a public host."""

    pattern: str = HTTPS_URL

    def refuses(self, value: str) -> str | None:
        if not re.fullmatch(self.pattern, value):
            return "an https:// URL without user, query or fragment is required (http:// is for the local stack)"
        host = value.removeprefix("https://").split("/", 1)[0].split(":", 1)[0].lower()
        if not _is_public_host(host):
            return "a loopback or private address is for the local stack"
        return None


@dataclass(frozen=True)
class OneOf:
    """Deployed, one of these values (template.yaml's AllowedValues); anything else is a simulator's."""

    values: tuple[str, ...]

    def refuses(self, value: str) -> str | None:
        return None if value in self.values else "must be one of the gateway's own addresses (template.yaml)"


@dataclass(frozen=True)
class NoneOf:
    """Deployed, none of these values: they are the local stack's and the tests'."""

    values: frozenset[str]
    what: str

    def refuses(self, value: str) -> str | None:
        return f"a {self.what} for the local stack and tests" if value in self.values else None


@dataclass(frozen=True)
class LocalOnly:
    """Deployed, never set: only the local stack has a use for it."""

    reason: str

    def refuses(self, value: str) -> str | None:
        return self.reason


# An e-mail address as SES takes it for a sender: template.yaml's AllowedPattern for `MailFrom`.
MAIL_ADDRESS = r"^[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$"
# Reserved names (RFC 2606, RFC 6761): no mail from them reaches anyone.
_LOCAL_MAIL_DOMAINS = (".local", ".localhost", ".test", ".example", ".invalid", ".internal")


@dataclass(frozen=True)
class PublicMailAddress:
    """Deployed, a sender address on a real domain (SES sends only from an identity verified for it)."""

    pattern: str = MAIL_ADDRESS

    def refuses(self, value: str) -> str | None:
        if not re.fullmatch(self.pattern, value):
            return "an e-mail address (name@domain) is required"
        domain = value.rsplit("@", 1)[1].lower()
        if ("." + domain).endswith(_LOCAL_MAIL_DOMAINS) or domain.startswith("example."):
            return "a reserved or local domain is for the local stack"
        return None


DeployedRule = PublicHttpsUrl | OneOf | NoneOf | LocalOnly | PublicMailAddress
PublicUrl = Annotated[str, PublicHttpsUrl()]


# -- the settings models ---------------------------------------------------------------------------------------


class EnvironmentSettings(BaseModel):
    """A group of settings read together; each field's alias is its variable."""

    # defer_build: a group's validator is built the first time it is read, so a function pays at cold start only for
    # the groups its use cases read (the lookup builds one of the nine).
    model_config = ConfigDict(
        frozen=True, validate_by_alias=True, validate_by_name=True, extra="ignore", defer_build=True
    )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Parse the group, refusing (`InvalidSettings`) a missing or malformed value, and deployed a local one."""
        env = os.environ if environ is None else environ
        settings, problems = cls._parse(env, is_deployed(env))
        if settings is None or problems:
            raise InvalidSettings(problems)
        return settings

    @classmethod
    def _parse(cls, env: Mapping[str, str], deployed: bool) -> tuple[Self | None, list[tuple[str, str]]]:
        # An empty variable is an unset one (a template parameter left empty, `VAR= command`).
        values = {variable: env[variable] for variable in cls.variables() if env.get(variable)}
        problems: list[tuple[str, str]] = []
        settings = None
        try:
            settings = cls.model_validate(values)
        except ValidationError as error:
            problems = [
                (str(problem["loc"][0]), "required, not set" if problem["type"] == "missing" else problem["msg"])
                for problem in error.errors(include_input=False, include_url=False, include_context=False)
            ]
        if deployed:
            named = {variable for variable, _ in problems}
            problems += [problem for problem in cls._local_values(values) if problem[0] not in named]
        return settings, problems

    @classmethod
    def _local_values(cls, values: Mapping[str, str]) -> list[tuple[str, str]]:
        """The variables set to what only the local stack and tests use, and why each is refused."""
        problems = []
        for field in cls.model_fields.values():
            variable = str(field.alias)
            for rule in field.metadata:
                if isinstance(rule, DeployedRule) and variable in values:
                    reason = rule.refuses(values[variable])
                    if reason is not None:
                        problems.append((variable, reason))
        return problems

    @classmethod
    def variables(cls) -> dict[str, bool]:
        """Each variable of the group, and whether it is required (has no default)."""
        return {str(field.alias): field.is_required() for field in cls.model_fields.values()}


class StoreSettings(EnvironmentSettings):
    """The main table (invoices, payments, evidence): every function."""

    table: str = Field(alias="EPAY_TABLE", min_length=3)
    dynamodb_endpoint: Annotated[
        str | None, LocalOnly("the local stack's DynamoDB; deployed functions use the Region's")
    ] = Field(default=None, alias="EPAY_DYNAMODB_ENDPOINT")


class CounterSettings(EnvironmentSettings):
    """The rate-limit counters: the lookup and payment creation."""

    rate_limit_table: str = Field(alias="EPAY_RATE_LIMIT_TABLE", min_length=3)


class IdempotencySettings(EnvironmentSettings):
    """The records of `Idempotency-Key`s: payment creation."""

    idempotency_table: str = Field(alias="EPAY_IDEMPOTENCY_TABLE", min_length=3)


class LookupSettings(EnvironmentSettings):
    """The invoice lookup's limits and cursors."""

    lookup_limit_per_minute: int = Field(default=60, alias="EPAY_LOOKUP_LIMIT_PER_MINUTE", ge=1, le=100_000)
    lookup_misses_per_hour: int = Field(default=20, alias="EPAY_LOOKUP_MISSES_PER_HOUR", ge=1, le=1_000_000)
    cursor_ttl_seconds: int = Field(default=1800, alias="EPAY_CURSOR_TTL_SECONDS", ge=60, le=86_400)
    # api.md §8, docs/reliability.md "The lookup challenge": what a proof costs the solver and what it buys.
    lookup_misses_per_proof: int = Field(default=1, alias="EPAY_LOOKUP_MISSES_PER_PROOF", ge=1, le=1000)
    lookup_challenge_max_number: int = Field(
        default=100_000, alias="EPAY_LOOKUP_CHALLENGE_MAX_NUMBER", ge=1000, le=10_000_000
    )
    lookup_challenge_ttl_seconds: int = Field(default=600, alias="EPAY_LOOKUP_CHALLENGE_TTL_SECONDS", ge=60, le=3600)


class GatewaySettings(EnvironmentSettings):
    """How the gateway adapters are configured: our addresses as the gateways are told them, CMI's and M2T's
    merchants and pages. Payment creation builds forms with them, and the callbacks check CMI's echo of those forms
    against them (docs/architecture.md), so both functions read the same values."""

    public_api_url: PublicUrl = Field(alias="EPAY_PUBLIC_API_URL")
    frontend_url: PublicUrl = Field(alias="EPAY_FRONTEND_URL")
    cmi_client_id: Annotated[str, NoneOf(TEST_CMI_CLIENT_IDS, "test CMI client id")] = Field(
        alias="EPAY_CMI_CLIENT_ID", min_length=1
    )
    cmi_gateway_url: Annotated[str, OneOf(CMI_GATEWAYS)] = Field(alias="EPAY_CMI_GATEWAY_URL")
    m2t_merchant_id: Annotated[str, NoneOf(TEST_M2T_MERCHANT_IDS, "test M2T merchant id")] = Field(
        alias="EPAY_M2T_MERCHANT_ID", min_length=1
    )
    m2t_gateway_url: PublicUrl = Field(alias="EPAY_M2T_GATEWAY_URL")


class ReceiptSettings(EnvironmentSettings):
    """The receipt's PDF (operations-api.md §7): its QR code leads to the payer's page, `?verify=<code>`."""

    frontend_url: PublicUrl = Field(alias="EPAY_FRONTEND_URL")


class MailSettings(EnvironmentSettings):
    """The receipt's e-mail (operations-api.md §7): the sender SES sends it from (an identity verified in SES), and
    locally the simulator standing in for SES."""

    mail_from: Annotated[str, PublicMailAddress()] = Field(alias="EPAY_MAIL_FROM", pattern=MAIL_ADDRESS)
    ses_endpoint: Annotated[str | None, LocalOnly("the local stack's mail outbox; deployed functions use SES")] = Field(
        default=None, alias="EPAY_SES_ENDPOINT"
    )


class GatewayApiSettings(EnvironmentSettings):
    """The gateways' merchant APIs (gateways.md: status, capture, void, refund): the recovery function's. CMI's
    client id and M2T's merchant id name the merchant in their requests, as in the payment forms."""

    cmi_client_id: Annotated[str, NoneOf(TEST_CMI_CLIENT_IDS, "test CMI client id")] = Field(
        alias="EPAY_CMI_CLIENT_ID", min_length=1
    )
    m2t_merchant_id: Annotated[str, NoneOf(TEST_M2T_MERCHANT_IDS, "test M2T merchant id")] = Field(
        alias="EPAY_M2T_MERCHANT_ID", min_length=1
    )
    cmi_api_url: Annotated[str, OneOf(CMI_APIS)] = Field(alias="EPAY_CMI_API_URL")
    cmi_api_user: str = Field(alias="EPAY_CMI_API_USER", min_length=1)
    m2t_api_url: PublicUrl = Field(alias="EPAY_M2T_API_URL")


class CallbackSettings(EnvironmentSettings):
    """How long a reference a gateway issued holds its invoices: the callbacks (and recovery, which applies status
    answers through the same engine)."""

    reference_hold_seconds: int = Field(default=259_200, alias="EPAY_REFERENCE_HOLD_SECONDS", ge=3600, le=30 * 86_400)


class RecoverySettings(CallbackSettings):
    """The recovery pass (operations-api.md §1): when a payment is first asked about (its age; a capture's, since its
    settlement), how much one pass may do, and how often `epay serve` runs one (in AWS a schedule runs one every 5
    minutes). The pass reads them when it runs: a payment's creation or settlement only marks it for recovery."""

    recovery_after_seconds: int = Field(default=600, alias="EPAY_RECOVERY_AFTER_SECONDS", ge=0, le=86_400)

    batch: int = Field(default=1000, alias="EPAY_RECOVERY_BATCH", ge=1, le=10_000)
    pass_seconds: int = Field(default=240, alias="EPAY_RECOVERY_PASS_SECONDS", ge=5, le=840)
    workers: int = Field(default=8, alias="EPAY_RECOVERY_WORKERS", ge=1, le=32)
    interval_seconds: int = Field(default=30, alias="EPAY_RECOVERY_INTERVAL_SECONDS", ge=1, le=3600)


class PaymentSettings(CallbackSettings):
    """Payment creation: the holds (a reference's too, as the callbacks extend it) and the payment limits."""

    hold_seconds: int = Field(default=1800, alias="EPAY_HOLD_SECONDS", ge=60, le=86_400)
    payment_limit_per_minute: int = Field(default=20, alias="EPAY_PAYMENT_LIMIT_PER_MINUTE", ge=1, le=100_000)
    payment_misses_per_hour: int = Field(default=20, alias="EPAY_PAYMENT_MISSES_PER_HOUR", ge=1, le=100_000)
    # api.md §8: live payments (holds) one subscription code may have at once; the next is `TOO_MANY_LIVE_PAYMENTS`.
    live_payments_per_code: int = Field(default=3, alias="EPAY_LIVE_PAYMENTS_PER_CODE", ge=1, le=20)


SETTINGS_MODELS = (
    StoreSettings,
    CounterSettings,
    IdempotencySettings,
    LookupSettings,
    GatewaySettings,
    GatewayApiSettings,
    ReceiptSettings,
    MailSettings,
    CallbackSettings,
    PaymentSettings,
    RecoverySettings,
)

_Model = TypeVar("_Model", bound=EnvironmentSettings)
_loaded: dict[type[EnvironmentSettings], EnvironmentSettings] = {}


def load(model: type[_Model]) -> _Model:
    """The container's settings of `model` (parsed on first use, then reused by every request)."""
    found = _loaded.get(model)
    if not isinstance(found, model):
        found = _loaded[model] = model.from_environment()
    return found


# -- secrets ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Secret:
    """A secret: its value in `variable` (the local stack, tests), or in AWS the Secrets Manager secret `id_variable`
    names."""

    variable: str
    id_variable: str
    required_locally: bool = True
    """False for a secret only a deployment has a use for (the origin secret: locally no distribution sends one)."""

    def problems(self, environ: Mapping[str, str], deployed: bool) -> list[tuple[str, str]]:
        if deployed and environ.get(self.variable):
            return [
                (self.variable, f"a secret's value in the environment is for the local stack; set {self.id_variable}")
            ]
        if deployed and not environ.get(self.id_variable):
            return [(self.id_variable, "required, not set")]
        if not environ.get(self.variable) and not environ.get(self.id_variable) and self.required_locally:
            return [(self.variable, f"required, not set (nor {self.id_variable})")]
        return []

    def configured(self, environ: Mapping[str, str] | None = None) -> bool:
        """Its value or its Secrets Manager id is set."""
        env = os.environ if environ is None else environ
        return bool(env.get(self.variable) or env.get(self.id_variable))


CURSOR_SECRET = Secret("EPAY_CURSOR_SECRET", "EPAY_CURSOR_SECRET_ID")
CMI_STORE_KEY = Secret("EPAY_CMI_STORE_KEY", "EPAY_CMI_STORE_KEY_ID")
M2T_SECRET = Secret("EPAY_M2T_SECRET", "EPAY_M2T_SECRET_ID")
FATOURATI_SECRET = Secret("EPAY_FATOURATI_SECRET", "EPAY_FATOURATI_SECRET_ID")
CMI_API_PASSWORD = Secret("EPAY_CMI_API_PASSWORD", "EPAY_CMI_API_PASSWORD_ID")
INVOICE_ID_KEY = Secret("EPAY_INVOICE_ID_KEY", "EPAY_INVOICE_ID_KEY_ID")
# Signs the lookup's ALTCHA challenges (epay.challenge).
CHALLENGE_SECRET = Secret("EPAY_CHALLENGE_SECRET", "EPAY_CHALLENGE_SECRET_ID")
# What CloudFront adds to every request it sends the API (epay.edge); deployed it is required, locally there is none.
ORIGIN_SECRET = Secret("EPAY_ORIGIN_SECRET", "EPAY_ORIGIN_SECRET_ID", required_locally=False)


class MissingSecret(RuntimeError):
    """A secret is configured neither in the environment nor as a Secrets Manager id."""


def secret(which: Secret) -> bytes:
    """The secret's value as bytes: from the environment, else from Secrets Manager (its `_ID` variable)."""
    direct = os.environ.get(which.variable)
    if direct:
        return direct.encode("utf-8")
    secret_id = os.environ.get(which.id_variable)
    if not secret_id:
        raise MissingSecret(f"{which.variable} is not configured (nor {which.id_variable})")
    # Imported here: only containers that really read Secrets Manager pay for the import.
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_id, max_age=SECRET_CACHE_SECONDS)
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


# -- all at once -----------------------------------------------------------------------------------------------


def check(
    models: Iterable[type[EnvironmentSettings]], secrets: Iterable[Secret], environ: Mapping[str, str] | None = None
) -> None:
    """Parse every group and look at every secret (never fetching one); raise `InvalidSettings` with every problem.

    Nothing is kept: `load` parses again on first use (a few microseconds), from the environment as it is then.
    """
    env = os.environ if environ is None else environ
    deployed = is_deployed(env)
    problems: list[tuple[str, str]] = []
    for model in dict.fromkeys(models):
        _, found = model._parse(env, deployed)
        problems += [problem for problem in found if problem not in problems]
    for which in dict.fromkeys(secrets):
        problems += which.problems(env, deployed)
    if problems:
        raise InvalidSettings(problems)


def reset() -> None:
    """Forget the parsed settings (tests change the environment between cases)."""
    _loaded.clear()
