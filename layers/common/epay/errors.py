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
