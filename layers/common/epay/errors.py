"""Domain errors. Each carries its HTTP status and machine code; `epay.http` turns them into problem+json.

Every `DomainError` is built from `epay.error_catalogue` (`DomainError.of`): its status, title, French detail and
any fixed `Retry-After` are the catalogue's, so a code answers the same wherever it is raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from epay import error_catalogue
from epay.error_catalogue import field_message, offers_in_codes, offers_in_words


@dataclass(frozen=True)
class FieldError:
    """One invalid input field, as listed in a problem's `errors`."""

    field: str
    message: str


@dataclass
class DomainError(Exception):
    """A refusal the payer can understand. `detail` is French, for the portal's users."""

    status: int
    code: str
    title: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, object] = field(default_factory=dict)
    """RFC 9457 extension members the problem carries besides its own (say, `challenge`)."""

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"

    @classmethod
    def of(
        cls,
        code: str,
        errors: Sequence[FieldError] = (),
        *,
        variant: str | None = None,
        retry_after: int | None = None,
        **values: object,
    ) -> DomainError:
        """The catalogue's problem for `code`: its detail (or `variant`) filled with `values`."""
        spec = error_catalogue.spec(code)
        wait = retry_after if retry_after is not None else spec.retry_after
        return cls(
            spec.status,
            code,
            spec.title,
            error_catalogue.detail(code, variant, **values),
            list(errors),
            {"Retry-After": str(wait)} if wait is not None else {},
        )


def invalid_subscription_code(errors: Sequence[FieldError] | None = None) -> DomainError:
    """`errors`: what validation found, when it did; else the code's rule."""
    found = errors if errors is not None else [FieldError("subscription_code", field_message("subscription_code"))]
    return DomainError.of("INVALID_SUBSCRIPTION_CODE", found)


def validation_error(errors: Sequence[FieldError], variant: str | None = None) -> DomainError:
    """`variant`: the catalogue's other detail for this refusal (say, `body_not_json`), if any."""
    return DomainError.of("VALIDATION_ERROR", errors, variant=variant)


def invalid_cursor() -> DomainError:
    return DomainError.of("INVALID_CURSOR", [FieldError("cursor", field_message("cursor"))])


def rate_limited(retry_after_seconds: int) -> DomainError:
    return DomainError.of("RATE_LIMITED", retry_after=retry_after_seconds, seconds=retry_after_seconds)


def challenge_required(challenge: dict[str, object]) -> DomainError:
    """Past the lookup's miss budget (api.md §8): the ALTCHA challenge whose proof buys a fresh budget."""
    refusal = DomainError.of("CHALLENGE_REQUIRED")
    refusal.extensions["challenge"] = challenge
    return refusal


def payload_too_large(limit_bytes: int) -> DomainError:
    return DomainError.of("PAYLOAD_TOO_LARGE", limit_bytes=limit_bytes)


def unsupported_media_type() -> DomainError:
    return DomainError.of("UNSUPPORTED_MEDIA_TYPE")


def not_found() -> DomainError:
    return DomainError.of("NOT_FOUND")


def forbidden() -> DomainError:
    return DomainError.of("FORBIDDEN")


def method_not_allowed() -> DomainError:
    return DomainError.of("METHOD_NOT_ALLOWED")


def too_many_live_payments() -> DomainError:
    return DomainError.of("TOO_MANY_LIVE_PAYMENTS")


def service_unavailable() -> DomainError:
    return DomainError.of("SERVICE_UNAVAILABLE")


def internal_error() -> DomainError:
    return DomainError.of("INTERNAL_ERROR")


class StoreUnavailable(Exception):
    """DynamoDB could not be reached or refused the work (throttling, timeout): nothing was changed."""


def _offers() -> list[tuple[str, list[str]]]:
    """Each gateway's methods, from the registry (so a new gateway is named in these texts without editing them)."""
    from epay.gateways import registry

    return [(gateway.name, [method.name for method in gateway.methods]) for gateway in registry.specs()]


def unsupported_method(gateway: str, method: str) -> DomainError:
    return DomainError.of(
        "UNSUPPORTED_METHOD",
        [FieldError("method", field_message("method_by_gateway", offers=offers_in_codes(_offers())))],
        variant="for_gateway",
        gateway=gateway,
        method=method,
    )


def unsupported_method_value(errors: Sequence[FieldError] = ()) -> DomainError:
    """A `method` outside the contract's list (validation's `errors` say which field)."""
    return DomainError.of("UNSUPPORTED_METHOD", errors, offers=offers_in_words(_offers()))


def invoice_not_found() -> DomainError:
    # One answer for an unknown id and another operator's invoice: ids cannot be probed across codes.
    return DomainError.of("INVOICE_NOT_FOUND")


def invoice_not_payable(invoice_ids: list[str]) -> DomainError:
    return DomainError.of("INVOICE_NOT_PAYABLE", [FieldError("invoice_ids", invoice_id) for invoice_id in invoice_ids])


def mixed_issuers() -> DomainError:
    return DomainError.of("MIXED_ISSUERS", [FieldError("invoice_ids", field_message("one_issuer"))])


def payment_too_large(maximum: str) -> DomainError:
    # Only stored data beyond the loader's bound can get here (docs/architecture.md, "Amount bounds").
    return DomainError.of(
        "VALIDATION_ERROR",
        [FieldError("invoice_ids", field_message("payment_too_large", maximum=maximum))],
        variant="payment_too_large",
        maximum=maximum,
    )


def idempotency_key_reused() -> DomainError:
    return DomainError.of(
        "IDEMPOTENCY_KEY_REUSED", [FieldError("Idempotency-Key", field_message("idempotency_key_reused"))]
    )


def request_in_progress() -> DomainError:
    return DomainError.of("REQUEST_IN_PROGRESS")


def payment_not_found() -> DomainError:
    return DomainError.of("PAYMENT_NOT_FOUND")


def payment_not_cancellable() -> DomainError:
    return DomainError.of("PAYMENT_NOT_CANCELLABLE")


def receipt_not_found() -> DomainError:
    # One answer for a malformed code, an unknown one and a payment without a receipt: no oracle.
    return DomainError.of("RECEIPT_NOT_FOUND")


def receipt_not_available() -> DomainError:
    return DomainError.of("RECEIPT_NOT_AVAILABLE")
