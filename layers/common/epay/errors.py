"""Domain errors. Each carries its HTTP status and machine code; `epay.http` turns them into problem+json."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"


def invalid_subscription_code() -> DomainError:
    return DomainError(
        400,
        "INVALID_SUBSCRIPTION_CODE",
        "Invalid subscription code",
        "Le code d'abonnement doit comporter exactement 4 lettres ou chiffres.",
        [FieldError("subscription_code", "4 lettres ou chiffres (A-Z, 0-9)")],
    )


def validation_error(errors: list[FieldError], detail: str | None = None) -> DomainError:
    return DomainError(
        400,
        "VALIDATION_ERROR",
        "Invalid request",
        detail or "La requête contient des champs invalides.",
        errors,
    )


def invalid_cursor() -> DomainError:
    return DomainError(
        400,
        "INVALID_CURSOR",
        "Invalid cursor",
        "Le curseur de pagination est invalide ou expiré : relancez la recherche depuis la première page.",
        [FieldError("cursor", "invalide, expiré ou émis pour une autre recherche")],
    )


def rate_limited(retry_after_seconds: int) -> DomainError:
    return DomainError(
        429,
        "RATE_LIMITED",
        "Too many requests",
        f"Trop de requêtes depuis votre adresse. Réessayez dans {retry_after_seconds} secondes.",
        headers={"Retry-After": str(retry_after_seconds)},
    )


def payload_too_large(limit_bytes: int) -> DomainError:
    return DomainError(
        413,
        "PAYLOAD_TOO_LARGE",
        "Request body too large",
        f"La requête dépasse la taille maximale autorisée ({limit_bytes} octets).",
    )


def unsupported_media_type() -> DomainError:
    return DomainError(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "Unsupported content type",
        "Le corps de la requête doit être du JSON (Content-Type: application/json).",
    )


def not_found() -> DomainError:
    return DomainError(404, "NOT_FOUND", "Not found", "Cette adresse n'existe pas.")


def method_not_allowed() -> DomainError:
    return DomainError(405, "METHOD_NOT_ALLOWED", "Method not allowed", "Méthode non autorisée sur cette adresse.")


def service_unavailable() -> DomainError:
    return DomainError(
        503,
        "SERVICE_UNAVAILABLE",
        "Service temporarily unavailable",
        "Le service est momentanément indisponible. Veuillez réessayer dans quelques instants.",
        headers={"Retry-After": "5"},
    )


def internal_error() -> DomainError:
    return DomainError(
        500,
        "INTERNAL_ERROR",
        "Internal error",
        "Une erreur inattendue est survenue. Veuillez réessayer ; si elle persiste, contactez l'assistance.",
    )


class StoreUnavailable(Exception):
    """DynamoDB could not be reached or refused the work (throttling, timeout): nothing was changed."""


def _offers() -> list[tuple[str, list[str]]]:
    """Each gateway's methods, from the registry (so a new gateway is named in these texts without editing them)."""
    from epay.gateways import registry

    return [(gateway.name, [method.name for method in gateway.methods]) for gateway in registry.specs()]


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} ou {names[-1]}"


def unsupported_method(gateway: str, method: str) -> DomainError:
    offers = " ; ".join(f"{name} : {_either(methods)}" for name, methods in _offers())
    return DomainError(
        400,
        "UNSUPPORTED_METHOD",
        "Unsupported payment method",
        f"Le moyen de paiement {method} n'est pas proposé par {gateway}.",
        [FieldError("method", offers)],
    )


def unsupported_method_value() -> DomainError:
    offers = " ou ".join(f"{name} ({', '.join(methods)})" for name, methods in _offers())
    return DomainError(
        400,
        "UNSUPPORTED_METHOD",
        "Unsupported payment method",
        f"Ce moyen de paiement n'est pas proposé : {offers}.",
    )


def invoice_not_found() -> DomainError:
    # One answer for an unknown id and another operator's invoice: ids cannot be probed across codes.
    return DomainError(
        404,
        "INVOICE_NOT_FOUND",
        "Invoice not found",
        "Une ou plusieurs factures sont introuvables pour ce code d'abonnement.",
    )


def invoice_not_payable(invoice_ids: list[str]) -> DomainError:
    return DomainError(
        409,
        "INVOICE_NOT_PAYABLE",
        "Invoice not payable",
        "Une ou plusieurs factures sont déjà payées ou en cours de paiement.",
        [FieldError("invoice_ids", invoice_id) for invoice_id in invoice_ids],
    )


def mixed_issuers() -> DomainError:
    return DomainError(
        422,
        "MIXED_ISSUERS",
        "Invoices of several issuers",
        "Les factures sélectionnées doivent toutes provenir du même émetteur.",
        [FieldError("invoice_ids", "un seul émetteur par paiement")],
    )


def payment_too_large(maximum: str) -> DomainError:
    # Only stored data beyond the loader's bound can get here (docs/architecture.md, "Amount bounds").
    return validation_error(
        [FieldError("invoice_ids", f"montant total supérieur à {maximum} MAD")],
        f"Le montant total de ces factures dépasse le maximum d'un paiement en ligne ({maximum} MAD).",
    )


def idempotency_key_reused() -> DomainError:
    return DomainError(
        422,
        "IDEMPOTENCY_KEY_REUSED",
        "Idempotency key reused",
        "Cette clé d'idempotence a déjà servi pour une autre demande de paiement.",
        [FieldError("Idempotency-Key", "déjà utilisée avec un autre contenu")],
    )


def request_in_progress() -> DomainError:
    return DomainError(
        409,
        "REQUEST_IN_PROGRESS",
        "Same request in progress",
        "La même demande de paiement est déjà en cours de traitement. Réessayez dans un instant.",
        headers={"Retry-After": "1"},
    )


def payment_not_found() -> DomainError:
    return DomainError(404, "PAYMENT_NOT_FOUND", "Payment not found", "Ce paiement est introuvable.")


def payment_not_cancellable() -> DomainError:
    return DomainError(
        409,
        "PAYMENT_NOT_CANCELLABLE",
        "Payment not cancellable",
        "Ce paiement ne peut plus être annulé (il est réglé, terminé ou expiré).",
    )
