"""One error catalogue (`epay.error_catalogue`): every code the API answers is in it, every refusal is built from it,
and the layer writes no French anywhere else.

The page's side (each code and gateway reason in French, Arabic and English) is tested in
tests/web/problems.test.mjs and tests/infrastructure/test_web_errors.py.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from epay import error_catalogue, errors
from epay.error_catalogue import CATALOGUE, FIELD_MESSAGES, PYDANTIC_MESSAGES, REASONS, placeholders
from epay.errors import DomainError, FieldError

ROOT = Path(__file__).parents[2]
LAYER = ROOT / "layers" / "common" / "epay"
CATALOGUE_MODULE = LAYER / "error_catalogue.py"
# The receipt's own words (its PDF and e-mail, in French, Arabic and English): the other module a person reads.
RECEIPT_TEXTS_MODULE = LAYER / "receipt_texts.py"
# Everything that can raise or answer a problem: the layer, the functions' handlers, the local stack.
PYTHON_SOURCES = [
    *sorted(LAYER.rglob("*.py")),
    *sorted((ROOT / "functions").rglob("*.py")),
    *sorted((ROOT / "local" / "epay_local").rglob("*.py")),
]

# The machine codes of the HTTP contract (api.md §1-§8) and the status it gives each.
CONTRACT_CODES = {
    "INVALID_SUBSCRIPTION_CODE": 400,
    "VALIDATION_ERROR": 400,
    "INVALID_CURSOR": 400,
    "RATE_LIMITED": 429,
    "UNSUPPORTED_METHOD": 400,
    "INVOICE_NOT_FOUND": 404,
    "INVOICE_NOT_PAYABLE": 409,
    "MIXED_ISSUERS": 422,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "PAYMENT_NOT_FOUND": 404,
    "PAYMENT_NOT_CANCELLABLE": 409,
    "CHALLENGE_REQUIRED": 429,
    "TOO_MANY_LIVE_PAYMENTS": 429,
}


def project_codes() -> set[str]:
    """The codes docs/architecture.md lists as the project's own ("Error codes beyond the contract's")."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    bullet = re.search(r"^- \*\*Error codes beyond the contract's\*\*.*?(?=^- \*\*)", text, re.MULTILINE | re.DOTALL)
    assert bullet, "docs/architecture.md lost its 'Error codes beyond the contract's' bullet"
    return set(re.findall(r"\b[A-Z][A-Z_]{2,}[A-Z]\b", bullet.group(0)))


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# -- every code, in one place -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "status"), CONTRACT_CODES.items())
def test_every_code_of_the_contract_is_in_the_catalogue_with_its_status(code, status):
    assert CATALOGUE[code].status == status


def test_every_code_the_project_added_is_in_the_catalogue():
    added = project_codes()
    assert {"NOT_FOUND", "SERVICE_UNAVAILABLE", "REQUEST_IN_PROGRESS"} <= added
    assert sorted(added - set(CATALOGUE)) == []


def test_every_code_of_the_catalogue_is_the_contracts_or_documented_as_the_projects():
    undocumented = set(CATALOGUE) - set(CONTRACT_CODES) - project_codes()
    assert sorted(undocumented) == [], "name it in docs/architecture.md, 'Error codes beyond the contract's'"


@pytest.mark.parametrize("code", CATALOGUE)
def test_each_entry_is_a_problem_with_a_french_sentence(code):
    entry = CATALOGUE[code]
    assert re.fullmatch(r"[A-Z][A-Z_]*[A-Z]", code)
    assert 400 <= entry.status <= 599
    assert entry.title.isascii(), "titles are short English labels"
    assert entry.title[0].isupper()
    for detail in (entry.detail, *entry.variants.values()):
        assert detail[0].isupper(), detail
        assert detail.endswith("."), detail
        assert all(name.isidentifier() for name in placeholders(detail)), detail


def test_field_messages_are_lower_case_phrases():
    for message in (*PYDANTIC_MESSAGES.values(), *FIELD_MESSAGES.values()):
        assert message
        assert not message.endswith("."), message


# -- every refusal is built from it -------------------------------------------------------------------------------

FACTORY_ARGUMENTS = {
    "rate_limited": (42,),
    "challenge_required": ({"algorithm": "SHA-256"},),
    "payload_too_large": (16384,),
    "unsupported_method": ("CMI", "TASHILAT"),
    "invoice_not_payable": (["INV-1"],),
    "payment_too_large": ("4999999999.50",),
    "validation_error": ([FieldError("page_size", "valeur trop grande")],),
}
FACTORIES = [
    function
    for name, function in inspect.getmembers(errors, inspect.isfunction)
    if function.__module__ == errors.__name__ and not name.startswith("_")
]


def as_pattern(template: str) -> re.Pattern[str]:
    """A detail template as a regular expression: each placeholder is some text."""
    parts = re.split(r"\{\w+\}", template)
    return re.compile(".+".join(re.escape(part) for part in parts))


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda function: function.__name__)
def test_each_refusal_answers_as_the_catalogue_says(factory):
    error = factory(*FACTORY_ARGUMENTS.get(factory.__name__, ()))
    assert isinstance(error, DomainError)
    entry = CATALOGUE[error.code]
    assert (error.status, error.title) == (entry.status, entry.title)
    templates = (entry.detail, *entry.variants.values())
    assert any(as_pattern(template).fullmatch(error.detail) for template in templates), error.detail
    assert "{" not in error.detail, "every placeholder is filled"
    if entry.retry_after is not None:
        assert error.headers == {"Retry-After": str(entry.retry_after)}


def test_rate_limited_says_and_sends_the_wait():
    error = errors.rate_limited(42)
    assert error.headers == {"Retry-After": "42"}
    assert "42" in error.detail


def test_a_code_missing_from_the_catalogue_cannot_be_raised():
    with pytest.raises(KeyError, match="NO_SUCH_CODE"):
        DomainError.of("NO_SUCH_CODE")


def test_no_module_builds_a_domain_error_by_hand():
    by_hand = [
        f"{relative(path)}:{node.lineno}"
        for path in PYTHON_SOURCES
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "DomainError")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "DomainError")
        )
    ]
    # errors.py's own `cls(...)` inside DomainError.of is the one constructor call.
    assert by_hand == []


def codes_raised() -> dict[str, list[str]]:
    """Every `DomainError.of(<code>, ...)` anywhere: the code (a literal, so this list is complete) and where."""
    found: dict[str, list[str]] = {}
    for path in PYTHON_SOURCES:
        for node in ast.walk(parsed(path)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "of"):
                continue
            if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "DomainError"):
                continue
            code = node.args[0] if node.args else None
            where = f"{relative(path)}:{node.lineno}"
            assert isinstance(code, ast.Constant), f"{where}: name the code literally"
            assert isinstance(code.value, str), where
            found.setdefault(code.value, []).append(where)
    return found


def test_every_code_raised_anywhere_is_in_the_catalogue():
    raised = codes_raised()
    assert {"VALIDATION_ERROR", "INVOICE_NOT_PAYABLE", "SERVICE_UNAVAILABLE"} <= set(raised)
    assert {code: where for code, where in raised.items() if code not in CATALOGUE} == {}


def test_every_code_the_service_answers_today_is_raised_somewhere():
    not_yet = {"CHALLENGE_REQUIRED"}  # api.md §8 (v1.1), not implemented yet
    assert sorted(set(CATALOGUE) - set(codes_raised()) - not_yet) == []


# -- no French outside the catalogue ------------------------------------------------------------------------------

_ACCENTED = re.compile(r"[àâäçéèêëîïôöûùüÿœæ]", re.IGNORECASE)
# Words no English message of this code base uses: one is enough.
_FRENCH_WORDS = {
    *("une", "des", "les", "sont", "avec", "dans", "doit", "votre", "vous", "cette", "trop", "champ", "attendu"),
    *("attendue", "invalide", "obligatoire", "inconnu", "texte", "entier", "valeur", "liste", "objet", "veuillez"),
    *("facture", "factures", "paiement", "paiements", "montant", "requête", "introuvable", "moyen"),
}
# Short words English shares or nearly shares: two are needed.
_FRENCH_SHORT_WORDS = {
    "le",
    "la",
    "du",
    "de",
    "et",
    "ou",
    "au",
    "aux",
    "est",
    "pas",
    "sur",
    "pour",
    "ne",
    "ce",
    "plus",
    "par",
}


def looks_french(text: str) -> bool:
    """Accented letters, one French word, or two short ones; names in capitals (E-PAIEMENT, CMI) are not words."""
    words = [word.lower() for word in re.findall(r"[A-Za-z]+", text) if not (len(word) > 1 and word.isupper())]
    short = [word for word in words if word in _FRENCH_SHORT_WORDS]
    return bool(_ACCENTED.search(text) or _FRENCH_WORDS.intersection(words) or len(short) >= 2)


# Reviewed: French that is not an error text. Each entry is (module, the exact literal).
ALLOWED_FRENCH = {
    # OpenAPI descriptions of the request and response models (documentation of /v1/openapi.json).
    (
        "layers/common/epay/schemas.py",
        "Code d'abonnement de l'opérateur: 4 lettres ou chiffres, insensible à la casse.",
    ),
    ("layers/common/epay/schemas.py", "Montant en MAD, deux décimales, point décimal."),
    ("layers/common/epay/schemas.py", "Sous-chaîne (insensible à la casse) du numéro ou du libellé."),
    ("layers/common/epay/schemas.py", "Instant ISO 8601 (UTC) jusqu'auquel un paiement en cours bloque la facture."),
    ("layers/common/epay/schemas.py", "Montant annoncé par la passerelle, s'il est lisible."),
    (
        "layers/common/epay/schemas.py",
        "Paiements signalés par la passerelle qui ne règlent rien (à restituer au payeur).",
    ),
    (
        "layers/common/epay/schemas.py",
        "VOID : autorisation annulée avant débit ; REFUND : montant débité remboursé ; "
        "MANUAL : restitué par un opérateur, hors de l'API de la passerelle.",
    ),
    ("layers/common/epay/schemas.py", "Instant ISO 8601 (UTC) de la restitution."),
    (
        "layers/common/epay/schemas.py",
        "Pourquoi : INVOICES_PAID_ELSEWHERE (factures déjà réglées par un autre paiement), "
        "ou le motif consigné par l'opérateur.",
    ),
    (
        "layers/common/epay/schemas.py",
        "Pour un paiement `REVERSED` : comment son montant a été restitué ; null sinon.",
    ),
    (
        "layers/common/epay/schemas.py",
        "Code du reçu, donné quand le paiement devient PAID (et conservé s'il est restitué) ; null avant.",
    ),
}


def string_literals(path: Path) -> list[tuple[int, str]]:
    """Every string literal of a module (f-strings' text parts included), docstrings left out."""
    tree = parsed(path)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@pytest.mark.parametrize(
    "text",
    ["champ obligatoire", "JSON invalide", "refusé", "Ce paiement est introuvable.", "trop long", "Réessayez dans "],
)
def test_the_scan_recognises_french(text):
    assert looks_french(text)


@pytest.mark.parametrize(
    "text",
    [
        "a JSON object is expected",
        "callback refused",
        "refused, fields differ from what this payment sent",
        "JSON nested deeper than 32 levels",
        "the payment is paid or held: not payable",
        "INVALID_SUBSCRIPTION_CODE",
        "To the E-PAIEMENT page, which reads the payment",
    ],
)
def test_the_scan_leaves_english_alone(text):
    assert not looks_french(text)


def test_no_french_outside_the_catalogue():
    # The layer and the handlers (local/ is the developers' stack: its simulators speak French on purpose).
    sources = [*sorted(LAYER.rglob("*.py")), *sorted((ROOT / "functions").rglob("*.py"))]
    found = sorted(
        {
            (relative(path), line, text)
            for path in sources
            if path not in (CATALOGUE_MODULE, RECEIPT_TEXTS_MODULE)
            for line, text in string_literals(path)
            if looks_french(text) and (relative(path), text) not in ALLOWED_FRENCH
        }
    )
    assert found == [], (
        "French for a payer or an API client belongs in epay/error_catalogue.py (a receipt's words, in epay/receipt_texts.py)"
    )


def test_the_allow_list_names_only_literals_that_exist():
    present = {(relative(path), text) for path in PYTHON_SOURCES for _, text in string_literals(path)}
    assert sorted(ALLOWED_FRENCH - present) == []


# -- gateway failure reasons --------------------------------------------------------------------------------------


def test_a_declined_card_is_stored_as_the_gateway_reported_it():
    # Other code, the operators and the tests read last_error as such: this form is stable.
    assert error_catalogue.declined_last_error("CMI", "05", "Do not honour") == "CMI 05: Do not honour"
    assert error_catalogue.declined_last_error("CMI", "51", None) == "CMI 51: refusé"
    assert error_catalogue.declined_last_error("CMI", "51", "") == "CMI 51: refusé"


def test_each_reason_is_a_french_sentence():
    assert set(REASONS) == {"CARD_DECLINED", "FAILED", "CANCELLED", "EXPIRED"}
    for text in REASONS.values():
        assert text[0].isupper(), text
        assert text.endswith("."), text


def test_every_gateway_and_method_the_registry_offers_has_its_words_in_the_catalogue():
    from epay.error_catalogue import GATEWAY_LABELS, METHOD_LABELS
    from epay.gateways import registry

    assert {gateway.name for gateway in registry.specs()} <= set(GATEWAY_LABELS)
    assert set(registry.method_names()) <= set(METHOD_LABELS)
