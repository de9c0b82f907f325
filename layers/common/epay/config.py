"""Settings, parsed once per container from the environment into a typed model.

Secrets come either straight from the environment (the local stack, tests) or, in AWS, from Secrets Manager by the
id given in `<NAME>_ID` (e.g. `EPAY_CURSOR_SECRET_ID`), fetched on first use and cached for the container.
"""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

SECRET_CACHE_SECONDS = 300


class Settings(BaseModel):
    """Everything the functions read from their environment."""

    model_config = ConfigDict(frozen=True)

    table: str = Field(default="epay", min_length=3)
    rate_limit_table: str = Field(default="epay-rate-limits", min_length=3)
    idempotency_table: str = Field(default="epay-idempotency", min_length=3)
    dynamodb_endpoint: str | None = None
    public_api_url: str = "http://127.0.0.1:8080"
    frontend_url: str = "http://127.0.0.1:8080/"
    lookup_limit_per_minute: int = Field(default=60, ge=1, le=100_000)
    payment_limit_per_minute: int = Field(default=20, ge=1, le=100_000)
    lookup_misses_per_hour: int = Field(default=20, ge=1, le=1_000_000)
    payment_misses_per_hour: int = Field(default=20, ge=1, le=100_000)
    hold_seconds: int = Field(default=1800, ge=60, le=86_400)
    reference_hold_seconds: int = Field(default=259_200, ge=3600, le=30 * 86_400)
    cursor_ttl_seconds: int = Field(default=1800, ge=60, le=86_400)
    cmi_client_id: str = "600000000"
    cmi_gateway_url: str = "https://testpayment.cmi.co.ma/fim/est3Dgate"
    m2t_merchant_id: str = "PORTNET-TEST"
    m2t_gateway_url: str = "https://checkout.amanpay.ma/checkout"
    # The merchant APIs (gateways.md); the CMI API password is the secret `cmi_api_password`.
    cmi_api_user: str = ""
    cmi_api_url: str = "https://testpayment.cmi.co.ma/fim/api"
    m2t_api_url: str = "https://checkout.amanpay.ma/api"

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {
            name: env[f"EPAY_{name.upper()}"]
            for name in cls.model_fields
            if env.get(f"EPAY_{name.upper()}") not in (None, "")
        }
        return cls.model_validate(values)


@cache
def settings() -> Settings:
    """The container's settings (parsed on first use, then reused by every request)."""
    return Settings.from_environment()


class MissingSecret(RuntimeError):
    """A secret is configured neither in the environment nor as a Secrets Manager id."""


def secret(name: str) -> bytes:
    """The secret `EPAY_<NAME>` as bytes: from the environment, else from Secrets Manager (`EPAY_<NAME>_ID`)."""
    variable = f"EPAY_{name.upper()}"
    direct = os.environ.get(variable)
    if direct:
        return direct.encode("utf-8")
    secret_id = os.environ.get(f"{variable}_ID")
    if not secret_id:
        raise MissingSecret(f"{variable} is not configured")
    # Imported here: only containers that really read Secrets Manager pay for the import.
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_id, max_age=SECRET_CACHE_SECONDS)
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def reset() -> None:
    """Forget the parsed settings (tests change the environment between cases)."""
    settings.cache_clear()
