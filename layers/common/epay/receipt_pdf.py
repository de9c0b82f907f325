"""The receipt as a PDF (operations-api.md §7): what a payer hands to the operator it paid for.

One A4 page: PORTNET, the issuer, the invoices and their amounts, the total, the gateway and its transaction id, when
it was paid in Morocco's time (Africa/Casablanca, from the pinned `tzdata` package), the payment id, the receipt code
and a QR code to `{EPAY_FRONTEND_URL}?verify=<code>`. No payer detail (anyone holding the payment id may fetch it, as
anyone holding it may read the payment). French, English or Arabic; Arabic is shaped by HarfBuzz (fpdf2's text
shaping through uharfbuzz) and laid out right to left, with codes, amounts and dates kept left to right inside it.

Heavy imports (fpdf2, which imports Pillow and fontTools; segno; uharfbuzz when shaping): only the receipt and mailer
functions import this module, and they ship the receipt layer that holds those packages and the fonts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import segno
from epay_receipt_fonts import FONT_DIR
from fpdf import FPDF

from epay.money import Money
from epay.payments import Payment
from epay.receipt_texts import RIGHT_TO_LEFT, method_label, text
from epay.receipts import grouped
from epay.urls import with_query

MOROCCO = "Africa/Casablanca"
PAGE_MARGIN = 18.0  # mm
QR_MODULE = 0.9  # mm: a version 4-5 code is about 35 mm wide with its quiet zone, readable from a phone
LATIN, ARABIC = "sans", "naskh"
NO_BREAK_SPACE = "\u00a0"


@cache
def morocco() -> ZoneInfo:
    """Morocco's zone from the `tzdata` package shipped with the receipt layer (never the runtime's files, which
    may be older: Morocco's offset changes every Ramadan and its rules are published late)."""
    with resources.files("tzdata.zoneinfo").joinpath(*MOROCCO.split("/")).open("rb") as data:
        return ZoneInfo.from_file(data, key=MOROCCO)


def morocco_time(epoch_seconds: int, lang: str) -> str:
    """`27/11/2026 11:15 (heure du Maroc, UTC+01:00)`: the instant as a payer in Morocco read it on the clock."""
    local = datetime.fromtimestamp(epoch_seconds, UTC).astimezone(morocco())
    offset = local.strftime("%z")
    return f"{local:%d/%m/%Y %H:%M} ({text(lang, 'morocco_time')}, UTC{offset[:3]}:{offset[3:]})"


def amount_text(amount: Money, lang: str) -> str:
    """`1 250,50 MAD` in French, `1,250.50 MAD` otherwise (digits stay Western: the portal's and the banks')."""
    whole, cents = str(amount).split(".")
    groups = f"{int(whole):,}"
    if lang == "fr":
        return groups.replace(",", NO_BREAK_SPACE) + "," + cents + NO_BREAK_SPACE + "MAD"
    return f"{groups}.{cents} MAD"


def verification_url(frontend_url: str, receipt_code: str) -> str:
    """Where the QR code leads: the payer's page, which verifies the code (`GET /v1/receipts/{code}`)."""
    return with_query(frontend_url, verify=receipt_code)


@dataclass(frozen=True)
class _Line:
    label: str
    value: str
    bold: bool = False


class _Receipt(FPDF):
    """One receipt page; every text goes through `_write`, which knows the direction of the language."""

    def __init__(self, lang: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.language = lang
        self.rtl = lang in RIGHT_TO_LEFT
        self.set_margins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
        self.set_auto_page_break(auto=True, margin=PAGE_MARGIN)
        self.add_font(LATIN, "", FONT_DIR / "NotoSans-Regular.ttf")
        self.add_font(LATIN, "B", FONT_DIR / "NotoSans-Bold.ttf")
        if self.rtl:
            self.add_font(ARABIC, "", FONT_DIR / "NotoNaskhArabic-Regular.ttf")
            self.add_font(ARABIC, "B", FONT_DIR / "NotoNaskhArabic-Bold.ttf")
            # Latin letters and digits inside Arabic text (codes, amounts) come from Noto Sans.
            self.set_fallback_fonts([LATIN])
        self.set_title(text(lang, "title"))
        self.set_author("PORTNET")
        self.set_creator("PORTNET")
        self.set_lang({"fr": "fr-MA", "ar": "ar-MA", "en": "en"}.get(lang, "fr-MA"))

    def _font(self, size: float, bold: bool = False, latin: bool = False) -> None:
        family = ARABIC if self.rtl and not latin else LATIN
        self.set_font(family, "B" if bold else "", size)
        if self.rtl and not latin:
            self.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab", language="ara")
        else:
            self.set_text_shaping(use_shaping_engine=True, direction="ltr")

    def _write(
        self, width: float, height: float, words: str, *, size: float = 10, bold: bool = False, latin: bool = False
    ) -> None:
        """One cell, aligned to the start of the line in the page's direction."""
        self._font(size, bold, latin)
        self.cell(width, height, words, align="R" if self.rtl else "L")

    def heading(self) -> None:
        self._write(0, 12, "PORTNET", size=22, bold=True, latin=True)
        self.ln(12)
        self._write(0, 7, f"{text(self.language, 'title')} | {text(self.language, 'service')}", size=12)
        self.ln(10)
        self._font(9.5)
        self.multi_cell(0, 5.5, text(self.language, "statement"), align="R" if self.rtl else "L")
        self.ln(4)

    def details(self, lines: list[_Line]) -> None:
        """Label and value on one row: the label at the start of the line, the value after it."""
        label_width, row = 58.0, 7.5
        value_width = self.epw - label_width
        for line in lines:
            start = self.get_y()
            if self.rtl:
                self.set_x(PAGE_MARGIN + value_width)
                self._write(label_width, row, line.label, bold=True)
                self.set_xy(PAGE_MARGIN, start)
                self._write(value_width, row, line.value, bold=line.bold, latin=line.value.isascii())
            else:
                self._write(label_width, row, line.label, bold=True)
                self._write(value_width, row, line.value, bold=line.bold, latin=True)
            self.ln(row)
        self.ln(3)

    def invoices(self, payment: Payment) -> None:
        """The invoices and their amounts, then the total; the amount column at the end of the line."""
        amount_width, row = 50.0, 7.5
        number_width = self.epw - amount_width
        self.set_fill_color(232, 238, 246)
        header = [(text(self.language, "invoice"), number_width), (text(self.language, "amount"), amount_width)]
        rows = [(line.invoice_number, amount_text(line.amount, self.language)) for line in payment.lines]
        self.set_draw_color(190, 198, 210)
        for cells, bold, fill in [
            ([(words, width) for words, width in header], True, True),
            *[([(number, number_width), (amount, amount_width)], False, False) for number, amount in rows],
            (
                [
                    (text(self.language, "total"), number_width),
                    (amount_text(payment.amount, self.language), amount_width),
                ],
                True,
                True,
            ),
        ]:
            ordered = list(reversed(cells)) if self.rtl else cells
            for index, (words, width) in enumerate(ordered):
                is_amount = (index == 0) if self.rtl else (index == len(ordered) - 1)
                self._font(10, bold, latin=words.isascii())
                self.cell(width, row, words, border="B", fill=fill, align="R" if (self.rtl or is_amount) else "L")
            self.ln(row)
        self.ln(6)

    def verification(self, url: str) -> None:
        """The QR code to the verification page, and its address written out for those who type it."""
        matrix = segno.make(url, error="m", micro=False).matrix
        size = len(matrix) * QR_MODULE
        top = self.get_y()
        left = PAGE_MARGIN + self.epw - size if self.rtl else PAGE_MARGIN
        self.set_fill_color(0, 0, 0)
        for row_index, row in enumerate(matrix):
            column = 0
            while column < len(row):
                if not row[column]:
                    column += 1
                    continue
                run = column
                while run < len(row) and row[run]:
                    run += 1
                # One rectangle per run of dark modules along a row (fewer drawing operations than one a module).
                self.rect(
                    left + column * QR_MODULE, top + row_index * QR_MODULE, (run - column) * QR_MODULE, QR_MODULE, "F"
                )
                column = run
        text_left = PAGE_MARGIN if self.rtl else PAGE_MARGIN + size + 6
        text_width = self.epw - size - 6
        self.set_xy(text_left, top + 4)
        self._font(9.5)
        self.multi_cell(text_width, 5.5, text(self.language, "verify"), align="R" if self.rtl else "L")
        self.set_x(text_left)
        self._font(9, latin=True)
        self.multi_cell(text_width, 5, url, align="R" if self.rtl else "L")
        self.set_y(top + size + 4)


def render(payment: Payment, lang: str, frontend_url: str) -> bytes:
    """The receipt of a payment that has a receipt code (a `PAID` one, or one reversed after it was paid)."""
    if payment.receipt_code is None or payment.paid_at is None:
        raise ValueError("only a payment that was paid has a receipt")
    sheet = _Receipt(lang)
    sheet.add_page()
    sheet.heading()
    method = method_label(lang, payment.method)
    sheet.details(
        [
            _Line(text(lang, "issuer"), f"{payment.issuer.name} ({payment.issuer.code})"),
            _Line(text(lang, "paid_at"), morocco_time(payment.paid_at, lang)),
            _Line(text(lang, "gateway"), f"{payment.gateway}, {method}"),
            _Line(text(lang, "transaction"), payment.gateway_transaction_id or "-"),
            _Line(text(lang, "payment_id"), payment.payment_id),
            _Line(text(lang, "receipt_code"), grouped(payment.receipt_code), bold=True),
        ]
    )
    sheet.invoices(payment)
    sheet.verification(verification_url(frontend_url, payment.receipt_code))
    return bytes(sheet.output())
