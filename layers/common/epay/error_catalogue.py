"""The error catalogue: every machine code the API answers, its HTTP status, title and French detail, and every
field-level message. The one place in the layer where the words a payer or an API client reads are written.

`epay.errors` builds every `DomainError` from here; `epay.http` and `epay.schemas` take their field messages from
here. The payer's page shows the same French (`web/js/errors.js` is generated from this module by `make openapi`)
and keeps the Arabic and English of each code and gateway reason in `web/i18n.js`; tests fail when a code lacks a
translation, when the page's French differs from this file, or when French appears anywhere else in the layer.

Details are French sentences for the portal's users; a detail that carries a value is a template
(`str.format` placeholders, the same `{name}` the page's messages use). Titles are short English labels (RFC 9457
`title`), stable per code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from string import Formatter


@dataclass(frozen=True)
class ErrorSpec:
    """What one machine code answers."""

    status: int
    title: str
    detail: str
    """French, for the portal's users; a template when it carries a value."""
    variants: Mapping[str, str] = field(default_factory=dict)
    """Other French details the same code gives, by name (say, why a body could not be read)."""
    retry_after: int | None = None
    """A fixed `Retry-After` (seconds) sent with the code, when it always asks to try again."""
    payer_facing: bool = True
    """The payer's page can receive it (the public routes): it needs a text in each of the page's languages."""


CATALOGUE: Mapping[str, ErrorSpec] = {
    # -- api.md §1, §2 ------------------------------------------------------------------------------------------
    "INVALID_SUBSCRIPTION_CODE": ErrorSpec(
        400,
        "Invalid subscription code",
        "Le code d'abonnement doit comporter exactement 4 lettres ou chiffres.",
    ),
    "VALIDATION_ERROR": ErrorSpec(
        400,
        "Invalid request",
        "Certaines informations saisies sont invalides.",
        variants={
            "body_not_json": "Le corps de la requête n'est pas un JSON valide.",
            "body_not_utf8": "Le corps de la requête n'est pas un texte UTF-8 valide.",
            "payment_too_large": (
                "Le montant total de ces factures dépasse le maximum d'un paiement en ligne ({maximum} MAD)."
            ),
        },
    ),
    "INVALID_CURSOR": ErrorSpec(
        400,
        "Invalid cursor",
        "La liste des factures a changé ou votre recherche a expiré. Veuillez relancer la recherche.",
    ),
    "RATE_LIMITED": ErrorSpec(
        429,
        "Too many requests",
        "Trop de tentatives. Veuillez réessayer dans {seconds} secondes.",
    ),
    "UNSUPPORTED_METHOD": ErrorSpec(
        400,
        "Unsupported payment method",
        # {offers}: every gateway and its methods in words, from the gateway registry (`offers_in_words`).
        "Ce moyen de paiement n'est pas proposé. {offers}.",
        variants={
            "for_gateway": "Ce moyen de paiement n'est pas proposé par la plateforme {gateway}. Veuillez en choisir "
            "un autre."
        },
    ),
    "INVOICE_NOT_FOUND": ErrorSpec(
        404,
        "Invoice not found",
        "Une ou plusieurs factures sont introuvables pour ce code d'abonnement. Veuillez relancer la recherche.",
    ),
    "INVOICE_NOT_PAYABLE": ErrorSpec(
        409,
        "Invoice not payable",
        "Une ou plusieurs factures ont déjà été réglées ou sont en cours de paiement.",
    ),
    "MIXED_ISSUERS": ErrorSpec(
        422,
        "Invoices of several issuers",
        "Les factures sélectionnées doivent toutes provenir du même émetteur.",
    ),
    "IDEMPOTENCY_KEY_REUSED": ErrorSpec(
        422,
        "Idempotency key reused",
        "Cette demande de paiement a déjà été envoyée avec d'autres informations. Veuillez réessayer.",
    ),
    # -- api.md §3, §4 ------------------------------------------------------------------------------------------
    "PAYMENT_NOT_FOUND": ErrorSpec(404, "Payment not found", "Ce paiement est introuvable."),
    "PAYMENT_NOT_CANCELLABLE": ErrorSpec(
        409,
        "Payment not cancellable",
        "Ce paiement ne peut plus être annulé (il est réglé, terminé ou expiré).",
    ),
    # -- operations-api.md §7: proof of payment -------------------------------------------------------------------
    "RECEIPT_NOT_FOUND": ErrorSpec(
        404,
        "Receipt not found",
        "Aucun reçu ne correspond à ce code. Vérifiez le code saisi ou scannez à nouveau le QR code du reçu.",
    ),
    "RECEIPT_NOT_AVAILABLE": ErrorSpec(
        409,
        "Receipt not available",
        "Le reçu n'est disponible que pour un paiement réglé.",
    ),
    # -- api.md §8 (v1.1) -----------------------------------------------------------------------------------------
    # The lookup past its miss budget; the problem carries `challenge` (epay.challenge).
    "CHALLENGE_REQUIRED": ErrorSpec(
        429,
        "Proof of work required",
        "Trop de recherches sans résultat : une vérification est nécessaire pour continuer.",
    ),
    "TOO_MANY_LIVE_PAYMENTS": ErrorSpec(
        429,
        "Too many live payments",
        "Trop de paiements sont déjà en cours pour ce code d'abonnement. Veuillez en finaliser ou en annuler un, "
        "puis réessayer.",
    ),
    # -- the project's own (docs/architecture.md, "Error codes beyond the contract's") ---------------------------
    "NOT_FOUND": ErrorSpec(404, "Not found", "Cette adresse n'existe pas."),
    # A request that went around the CloudFront distribution (epay.edge): never the page's, which comes through it.
    "FORBIDDEN": ErrorSpec(
        403,
        "Forbidden",
        "Cette adresse n'est accessible qu'à travers le site E-Paiement.",
        payer_facing=False,
    ),
    "METHOD_NOT_ALLOWED": ErrorSpec(405, "Method not allowed", "Méthode non autorisée sur cette adresse."),
    "PAYLOAD_TOO_LARGE": ErrorSpec(
        413,
        "Request body too large",
        "La requête dépasse la taille maximale autorisée ({limit_bytes} octets).",
    ),
    "UNSUPPORTED_MEDIA_TYPE": ErrorSpec(
        415,
        "Unsupported content type",
        "Le corps de la requête doit être du JSON (Content-Type: application/json).",
    ),
    "REQUEST_IN_PROGRESS": ErrorSpec(
        409,
        "Same request in progress",
        "La même demande de paiement est déjà en cours de traitement. Réessayez dans un instant.",
        retry_after=1,
    ),
    "SERVICE_UNAVAILABLE": ErrorSpec(
        503,
        "Service temporarily unavailable",
        "Le service est momentanément indisponible. Veuillez réessayer dans quelques instants.",
        retry_after=5,
    ),
    "INTERNAL_ERROR": ErrorSpec(
        500,
        "Internal error",
        "Une erreur inattendue est survenue. Veuillez réessayer ; si le problème persiste, contactez le centre de "
        "relation clients PORTNET.",
    ),
}


# Pydantic's error types as French field messages (`errors[].message`); a type not listed reads as its `msg`.
PYDANTIC_MESSAGES: Mapping[str, str] = {
    "missing": "champ obligatoire",
    "extra_forbidden": "champ inconnu",
    "string_type": "texte attendu",
    "int_type": "nombre entier attendu",
    "string_pattern_mismatch": "format invalide",
    "string_too_short": "trop court",
    "string_too_long": "trop long",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
    "model_type": "objet JSON attendu",
    "model_attributes_type": "objet JSON attendu",
    "dict_type": "objet JSON attendu",
    "list_type": "liste attendue",
    "literal_error": "valeur non autorisée",
    "enum": "valeur non autorisée",
    "too_short": "trop peu d'éléments",
    "too_long": "trop d'éléments",
    "json_invalid": "JSON invalide",
}

# Our own field messages, by name: the request models' validators, the refusals' `errors`, unreadable bodies.
FIELD_MESSAGES: Mapping[str, str] = {
    "invalid_value": "valeur invalide",
    # epay.schemas' validators
    "iso_date": "date attendue au format AAAA-MM-JJ",
    "dates_reversed": "issued_from doit être antérieure ou égale à issued_to",
    "amounts_reversed": "min_amount doit être inférieur ou égal à max_amount",
    "invoice_repeated": "chaque facture ne peut figurer qu'une fois",
    # the refusals of epay.errors
    "subscription_code": "4 lettres ou chiffres (A-Z, 0-9)",
    "cursor": "invalide, expiré ou émis pour une autre recherche",
    "method_by_gateway": "{offers}",  # every gateway and its methods' codes, from the registry (`offers_in_codes`)
    "one_issuer": "un seul émetteur par paiement",
    "payment_too_large": "montant total supérieur à {maximum} MAD",
    "idempotency_key_reused": "déjà utilisée avec un autre contenu",
    # bodies epay.http could not read (`field: body`)
    "json_too_deep": "JSON trop imbriqué (au plus {depth} niveaux)",
    "number_too_long": "nombre trop long (au plus {length} caractères)",
    "utf8_invalid": "UTF-8 invalide",
}


# -- gateway failure reasons (a payment's `last_error`) ----------------------------------------------------------
# `last_error` is stored as the gateway reported it ("CMI 05: <CMI's ErrMsg>", "M2T FAILED"); other code, the
# operators and the tests read it as such. The page does not show it raw: it recognises these forms
# (web/js/status.js, `gatewayReason`) and shows the reason below, translated in web/i18n.js (`reason.*`).

DECLINED_WITHOUT_MESSAGE = "refusé"
"""What a stored card decline says when the gateway sent no message of its own."""

REASONS: Mapping[str, str] = {
    "CARD_DECLINED": "Carte refusée par la banque émettrice (code {code}).",
    "FAILED": "Le paiement a échoué sur la plateforme {gateway}.",
    "CANCELLED": "Paiement abandonné sur la page de la plateforme de paiement.",
    "EXPIRED": "Délai de paiement dépassé sur la plateforme de paiement.",
}


def declined_last_error(gateway: str, code: str, message: str | None) -> str:
    """`last_error` of a declined card attempt: the gateway, its return code and its own message."""
    return f"{gateway} {code}: {message or DECLINED_WITHOUT_MESSAGE}"


# -- the gateways' and methods' names, as the payer reads them ------------------------------------------------------
# Every gateway and method of the registry (epay.gateways.registry) has its words here (a test checks it); the lists
# themselves always come from the registry.

GATEWAY_LABELS: Mapping[str, str] = {"CMI": "CMI", "M2T": "M2T (AmanPay)"}
METHOD_LABELS: Mapping[str, str] = {
    "CARD": "carte bancaire",
    "FATOURATI": "Fatourati",
    "TASHILAT": "TASHILAT",
    "DIRECT_DEBIT": "Débit Direct",
}


def _either(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} ou {names[-1]}"


def offers_in_words(offers: Sequence[tuple[str, Sequence[str]]]) -> str:
    """`CMI : carte bancaire ou Fatourati ; M2T (AmanPay) : carte bancaire, TASHILAT ou Débit Direct`."""
    return " ; ".join(
        f"{GATEWAY_LABELS.get(gateway, gateway)} : {_either([METHOD_LABELS.get(name, name) for name in methods])}"
        for gateway, methods in offers
    )


def offers_in_codes(offers: Sequence[tuple[str, Sequence[str]]]) -> str:
    """`CMI : CARD ou FATOURATI ; M2T : CARD, TASHILAT ou DIRECT_DEBIT`."""
    return " ; ".join(f"{gateway} : {_either(list(methods))}" for gateway, methods in offers)


# -- reading the catalogue ---------------------------------------------------------------------------------------


def placeholders(template: str) -> set[str]:
    """The `{names}` a template needs."""
    return {name for _, name, _, _ in Formatter().parse(template) if name}


def spec(code: str) -> ErrorSpec:
    """The catalogue's entry for `code` (a `KeyError` names a code missing from the catalogue)."""
    return CATALOGUE[code]


def detail(code: str, variant: str | None = None, **values: object) -> str:
    """The French detail of `code` (or of one of its variants), its placeholders filled with `values`."""
    entry = CATALOGUE[code]
    template = entry.detail if variant is None else entry.variants[variant]
    return template.format(**values)


def field_message(name: str, **values: object) -> str:
    """One of our own field messages, its placeholders filled with `values`."""
    return FIELD_MESSAGES[name].format(**values)
