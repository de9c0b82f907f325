"""The page's copy of the HTTP contract: `web/js/contract.js`, generated from the OpenAPI document by `make openapi`.

The page checks what a payer types with the API's own patterns, offers exactly the gateways and methods the API
accepts and knows every payment status the API can answer (and every way a reversed payment's money is returned).
Everything here is read from the document (never typed twice); a test regenerates the file and fails when the
committed one differs.

Patterns become JavaScript regular expressions with the `u` flag (code points, as pydantic's Rust engine and Python
count them, not UTF-16 units). Constructs that JavaScript reads differently, or not at all, are refused rather than
carried over: `\\d`, `\\w`, `\\b` (ASCII in JavaScript, Unicode in Python and Rust), `\\A`, `\\Z`, inline flags,
named groups, `{,n}`, unknown escapes. `\\s` is written out as the Unicode White_Space set that the API's validator
(pydantic's Rust engine) uses: JavaScript's own `\\s` adds U+FEFF and leaves out U+0085. `$` needs nothing: it ends
the text in JavaScript and in that engine alike (Python's `re` would also accept a final newline).
"""

from __future__ import annotations

import json
from typing import Any

from epay_local.template import PROJECT_ROOT

CONTRACT_PATH = PROJECT_ROOT / "web" / "js" / "contract.js"

# Unicode White_Space, as the Rust regex crate's `\s` (and Python's, less \x1c-\x1f) matches it; inside a class.
_WHITE_SPACE = r"\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Escapes that mean the same in Python, Rust and JavaScript (`u` flag): syntax characters and control letters.
_SAME_ESCAPES = set("^$\\.*+?()[]{}|/tnrfv")
_HEX = set("0123456789abcdefABCDEF")
_DIFFERENT_ESCAPES = {
    "d": "\\d is ASCII digits in JavaScript, any Unicode digit in Python and Rust: write [0-9]",
    "D": "\\D differs between JavaScript and Python: write [^0-9]",
    "w": "\\w is ASCII in JavaScript, Unicode in Python and Rust: write the class out",
    "W": "\\W differs between JavaScript and Python: write the class out",
    "b": "\\b follows \\w, which JavaScript reads as ASCII only",
    "B": "\\B follows \\w, which JavaScript reads as ASCII only",
    "S": "\\S: write the negated class out ([^...\\s])",
    "A": "\\A is not JavaScript: use ^",
    "Z": "\\Z is not JavaScript: use $",
    "z": "\\z is not JavaScript: use $",
    "U": "\\U........ is not JavaScript: use \\u{...} or the character",
    "N": "\\N{...} is not JavaScript: use the character",
}


class ContractError(ValueError):
    """The document lacks something the page needs, or holds a pattern JavaScript would read differently."""


def js_pattern(pattern: str) -> str:
    """A JSON Schema `pattern` (validated by Python or pydantic's Rust engine) as the same JavaScript `u` regex."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 >= len(pattern):
                raise ContractError(f"{pattern!r}: ends with a lone backslash")
            escape = pattern[index + 1]
            if escape == "s":
                out.append(_WHITE_SPACE if in_class else f"[{_WHITE_SPACE}]")
                index += 2
                continue
            if escape in _DIFFERENT_ESCAPES:
                raise ContractError(f"{pattern!r}: {_DIFFERENT_ESCAPES[escape]}")
            if escape in "xu":
                size = 2 if escape == "x" else 4
                digits = pattern[index + 2 : index + 2 + size]
                if len(digits) != size or any(digit not in _HEX for digit in digits):
                    raise ContractError(f"{pattern!r}: \\{escape} needs {size} hexadecimal digits")
                width = 2 + size
            elif escape in _SAME_ESCAPES or (in_class and escape == "-"):
                width = 2
            else:
                raise ContractError(f"{pattern!r}: \\{escape} is not an escape JavaScript reads like Python")
            out.append(pattern[index : index + width])
            index += width
            continue
        if in_class:
            if char == "[":
                raise ContractError(f"{pattern!r}: '[' inside a class (write \\[)")
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern.startswith("[^]", index) or pattern.startswith("[]", index):
                raise ContractError(f"{pattern!r}: a leading ']' in a class is literal in Python, not in JavaScript")
        elif char == "(" and pattern.startswith("(?", index) and not pattern.startswith(("(?:", "(?=", "(?!"), index):
            raise ContractError(f"{pattern!r}: only (?:...), (?=...) and (?!...) groups read alike in JavaScript")
        elif char == "{" and pattern.startswith("{,", index):
            raise ContractError(f"{pattern!r}: {{,n}} is not JavaScript: write {{0,n}}")
        out.append(char)
        index += 1
    if in_class:
        raise ContractError(f"{pattern!r}: unterminated class")
    return "".join(out)


def _dig(document: dict[str, Any], *path: str | int) -> Any:
    """document[path[0]][path[1]]...; `anyOf: [X, {"type": "null"}]` (an optional field) reads as X."""
    node: Any = document
    for step in path:
        if isinstance(node, dict) and "anyOf" in node and step not in node:
            choices = [choice for choice in node["anyOf"] if choice != {"type": "null"}]
            node = choices[0] if len(choices) == 1 else node
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            shown = "/".join(str(part) for part in path)
            raise ContractError(f"the OpenAPI document has no {shown}") from None
    return node


def _schema(document: dict[str, Any], name: str, *path: str | int) -> Any:
    return _dig(document, "components", "schemas", name, *path)


def _referenced(document: dict[str, Any], node: Any) -> Any:
    """A schema that is a `$ref` to one of the document's components (or null), as that component."""
    if isinstance(node, dict) and "anyOf" in node:
        choices = [choice for choice in node["anyOf"] if choice != {"type": "null"}]
        node = choices[0] if len(choices) == 1 else node
    reference = node.get("$ref") if isinstance(node, dict) else None
    prefix = "#/components/schemas/"
    if not isinstance(reference, str) or not reference.startswith(prefix):
        raise ContractError(f"expected a reference to a component schema, found {node!r}")
    return _schema(document, reference.removeprefix(prefix))


def _methods_by_gateway(document: dict[str, Any], gateways: list[str], methods: list[str]) -> dict[str, list[str]]:
    """From PaymentRequest's `allOf`: if gateway is G then method is one of [...]."""
    offered: dict[str, list[str]] = {}
    for rule in _schema(document, "PaymentRequest", "allOf"):
        gateway = _dig(rule, "if", "properties", "gateway", "const")
        offered[gateway] = list(_dig(rule, "then", "properties", "method", "enum"))
    if sorted(offered) != sorted(gateways):
        raise ContractError(f"PaymentRequest's allOf names gateways {sorted(offered)}, its enum {sorted(gateways)}")
    for gateway, listed in offered.items():
        if unknown := sorted(set(listed) - set(methods)):
            raise ContractError(f"{gateway} offers {unknown}, which PaymentRequest's method enum lacks")
    return {gateway: offered[gateway] for gateway in gateways}


def _path_parameter(document: dict[str, Any], path: str, method: str, name: str) -> Any:
    for parameter in _dig(document, "paths", path, method, "parameters"):
        if parameter.get("in") == "path" and parameter.get("name") == name:
            return parameter["schema"]
    raise ContractError(f"{method.upper()} {path} has no path parameter {name}")


def _same(label: str, values: list[Any]) -> Any:
    """One value the document states in several places (say, the code's pattern in two requests)."""
    if any(value != values[0] for value in values):
        raise ContractError(f"{label} differs across the document: {values}")
    return values[0]


_CODE_REQUESTS = ("SearchRequest", "PaymentRequest")


def build_contract(document: dict[str, Any]) -> dict[str, Any]:
    """What the page needs of the contract, read from the OpenAPI document."""
    gateways = list(_schema(document, "PaymentRequest", "properties", "gateway", "enum"))
    methods = list(_schema(document, "PaymentRequest", "properties", "method", "enum"))
    code = _same(
        "the subscription code's pattern",
        [_schema(document, request, "properties", "subscription_code", "pattern") for request in _CODE_REQUESTS],
    )
    amount = _same(
        "the amount pattern",
        [_schema(document, "SearchFilters", "properties", bound, "pattern") for bound in ("min_amount", "max_amount")],
    )
    patterns = {
        "subscriptionCode": code,
        "invoiceNumber": _schema(document, "SearchRequest", "properties", "invoice_number", "pattern"),
        "issuerCode": _schema(document, "SearchFilters", "properties", "issuer", "pattern"),
        "amount": amount,
        "invoiceId": _schema(document, "PaymentRequest", "properties", "invoice_ids", "items", "pattern"),
        "paymentId": _dig(_path_parameter(document, "/v1/payments/{payment_id}", "get", "payment_id"), "pattern"),
        "email": _schema(document, "PayerIn", "properties", "email", "pattern"),
        "phone": _schema(document, "PayerIn", "properties", "phone", "pattern"),
    }
    page_size = _schema(document, "SearchRequest", "properties", "page_size")
    reversal = _referenced(document, _schema(document, "PaymentView", "properties", "reversal"))
    return {
        "gateways": gateways,
        "methods": _methods_by_gateway(document, gateways, methods),
        "paymentStatuses": list(_schema(document, "PaymentView", "properties", "status", "enum")),
        "reversalActions": list(_dig(reversal, "properties", "action", "enum")),
        "langs": list(_schema(document, "PaymentRequest", "properties", "lang", "enum")),
        "patterns": {name: js_pattern(source) for name, source in patterns.items()},
        "limits": {
            "invoicesPerPayment": int(_schema(document, "PaymentRequest", "properties", "invoice_ids", "maxItems")),
            "pageSizeMin": int(_dig(page_size, "minimum")),
            "pageSizeMax": int(_dig(page_size, "maximum")),
            "payerName": int(_schema(document, "PayerIn", "properties", "name", "maxLength")),
            "email": int(_schema(document, "PayerIn", "properties", "email", "maxLength")),
            "searchText": int(_schema(document, "SearchFilters", "properties", "text", "maxLength")),
        },
    }


_HEADER = """\
// Generated by `make openapi` from layers/common/epay/openapi.json (local/epay_local/web_contract.py): do not edit.
// What the page needs of the HTTP contract, so that it cannot drift from the API: the API's own patterns (as
// JavaScript regular expressions with the "u" flag), the gateways and the methods each offers, the payment statuses
// the API can answer (and how a reversed payment's money can have been returned), and the maxima.
"""


def render_contract(document: dict[str, Any]) -> str:
    """web/js/contract.js for this document: plain ES module constants, importable by the browser and by node."""
    contract = build_contract(document)

    def literal(value: Any) -> str:
        return json.dumps(value, ensure_ascii=True)

    lines = [_HEADER]
    lines.append(f"export const GATEWAYS = {literal(contract['gateways'])};")
    lines.append("export const METHODS = {")
    lines += [f"  {gateway}: {literal(methods)}," for gateway, methods in contract["methods"].items()]
    lines.append("};")
    lines.append(f"export const PAYMENT_STATUSES = {literal(contract['paymentStatuses'])};")
    lines.append(f"export const REVERSAL_ACTIONS = {literal(contract['reversalActions'])};")
    lines.append(f"export const LANGS = {literal(contract['langs'])};")
    lines.append("")
    lines.append("export const PATTERNS = {")
    lines += [f'  {name}: new RegExp({literal(source)}, "u"),' for name, source in contract["patterns"].items()]
    lines.append("};")
    lines.append("")
    lines.append("export const LIMITS = {")
    lines += [f"  {name}: {value}," for name, value in contract["limits"].items()]
    lines.append("};")
    return "\n".join(lines) + "\n"


def write_contract(document: dict[str, Any]) -> None:
    CONTRACT_PATH.write_text(render_contract(document), encoding="utf-8")
