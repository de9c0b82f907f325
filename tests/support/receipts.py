"""Reading a receipt's PDF back, as a person or a scanner would: its text, the fonts it embeds, its QR code."""

from __future__ import annotations

import io
import unicodedata
from typing import Any

import pypdfium2
import zxingcpp
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from epay.invoices import Issuer
from epay.money import Money
from epay.payments import Payer, Payment, PaymentLine, PaymentStatus

PAID_AT = 1_795_774_590  # 2026-11-27T10:16:30Z


def a_paid_payment(**changes: Any) -> Payment:
    """A paid card payment of two invoices, with its receipt code."""
    values: dict[str, Any] = {
        "payment_id": "PAY-RECEIPT0TEST0000000000000",
        "subscription_code": "Q0Z9",
        "issuer": Issuer("ANP", "Agence Nationale des Ports"),
        "gateway": "CMI",
        "method": "CARD",
        "lines": (
            PaymentLine("inv-a", "F-2026-000101", Money(125_050)),
            PaymentLine("inv-b", "F-2026-000102", Money(2_050)),
        ),
        "amount": Money(127_100),
        "payer": Payer("Société Maritime", "compta@example.ma", "0522000000"),
        "lang": "fr",
        "status": PaymentStatus.PAID,
        "created_at": PAID_AT - 90,
        "expires_at": PAID_AT + 1710,
        "paid_at": PAID_AT,
        "gateway_transaction_id": "26015K1Q7777",
        "settled_by": "CMI|x|26015K1Q7777|00",
        "receipt_code": "7K3M9Q2W8X4RZ6TV",
    }
    values.update(changes)
    return Payment(**values)


def pdf_text(content: bytes) -> str:
    """The text of every page, as pypdf extracts it (Unicode of each glyph, through the fonts' ToUnicode maps)."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def folded(text: str) -> str:
    """Text compared as a reader sees it: Arabic presentation forms folded to their letters (NFKC), spaces joined."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def embedded_fonts(content: bytes) -> dict[str, TTFont]:
    """The font programs the PDF embeds (the subsets fpdf2 wrote), by base font name without the subset tag."""
    fonts: dict[str, TTFont] = {}
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            program = descendant["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
            fonts[str(font["/BaseFont"]).split("+", 1)[-1]] = TTFont(io.BytesIO(program))
    return fonts


def qr_codes(content: bytes, scale: float = 4.0) -> list[str]:
    """What a scanner reads from the first page: the page drawn as pixels (PDFium), its QR codes decoded (ZXing)."""
    page = pypdfium2.PdfDocument(content)[0]
    image = page.render(scale=scale).to_pil()
    return [found.text for found in zxingcpp.read_barcodes(image)]
