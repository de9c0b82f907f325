"""The receipt's PDF (operations-api.md §7), read back as a person and a phone would read it.

What is asserted about Arabic, and why that is enough:
- the text extracted from the PDF (the Unicode each glyph maps to) holds every Arabic label in logical order, once
  the presentation forms are folded to their letters: the words are there, spelt right, in reading order;
- the glyphs are shaped: the embedded Arabic font (the subset fpdf2 wrote) holds exactly the glyphs HarfBuzz chooses
  for those labels — their initial, medial and final forms (`uniFE91`, `uniFE92`, …) — and an Arabic word set
  without shaping would embed only the letters' isolated forms (`uni0628`…), which the test shows is not the case;
- right to left: each Arabic label ends at the right margin (its right edge is the page's), and in a two-column row
  the label stands to the right of its value.
The QR code is drawn to pixels with PDFium and decoded with ZXing, as a phone's camera would read it.
"""

from __future__ import annotations

import io
import re

import pytest
import uharfbuzz
from epay_receipt_fonts import FONT_DIR
from pypdf import PdfReader

from epay import receipt_pdf
from epay.money import Money
from epay.receipt_pdf import amount_text, morocco_time, render
from epay.receipt_texts import TEXTS
from tests.support.receipts import a_paid_payment, embedded_fonts, folded, pdf_text, qr_codes

FRONTEND = "https://www.portnet.ma/e-paiement/"
VERIFY_URL = "https://www.portnet.ma/e-paiement/?verify=7K3M9Q2W8X4RZ6TV"
ARABIC_LABELS = ["title", "issuer", "payment_id", "paid_at", "gateway", "transaction", "receipt_code", "total"]


@pytest.fixture(scope="module")
def french() -> bytes:
    return render(a_paid_payment(), "fr", FRONTEND)


@pytest.fixture(scope="module")
def arabic() -> bytes:
    return render(a_paid_payment(), "ar", FRONTEND)


def test_the_receipt_is_one_pdf_page(french):
    assert french.startswith(b"%PDF-")
    assert len(PdfReader(io.BytesIO(french)).pages) == 1


def test_the_french_receipt_says_who_was_paid_what_when_and_how(french):
    text = folded(pdf_text(french))
    for expected in [
        "PORTNET",
        "Reçu de paiement",
        "Agence Nationale des Ports (ANP)",
        "F-2026-000101",
        "1 250,50 MAD",
        "F-2026-000102",
        "20,50 MAD",
        "Total",
        "1 271,00 MAD",
        "CMI, carte bancaire",
        "26015K1Q7777",
        "PAY-RECEIPT0TEST0000000000000",
        "7K3M-9Q2W-8X4R-Z6TV",
        "27/11/2026",
        VERIFY_URL,
    ]:
        assert expected in text, expected


def test_the_receipt_holds_nothing_of_the_payer_nor_the_subscription_code(french, arabic):
    for content in (french, arabic):
        text = pdf_text(content)
        for private in ("Société Maritime", "compta@example.ma", "0522000000", "Q0Z9"):
            assert private not in text


def test_the_arabic_receipt_holds_every_label_in_reading_order(arabic):
    text = folded(pdf_text(arabic))
    for key in ARABIC_LABELS:
        assert folded(TEXTS["ar"][key]) in text, key
    for kept_left_to_right in ("7K3M-9Q2W-8X4R-Z6TV", "PAY-RECEIPT0TEST0000000000000", "1,271.00 MAD", VERIFY_URL):
        assert kept_left_to_right in text


def _shaped_glyphs(words: str, bold: bool = False) -> set[str]:
    """The glyphs HarfBuzz chooses for `words` in Noto Naskh Arabic, by name."""
    path = FONT_DIR / ("NotoNaskhArabic-Bold.ttf" if bold else "NotoNaskhArabic-Regular.ttf")
    font = uharfbuzz.Font(uharfbuzz.Face(uharfbuzz.Blob.from_file_path(str(path))))
    buffer = uharfbuzz.Buffer()
    buffer.add_str(words)
    buffer.guess_segment_properties()
    uharfbuzz.shape(font, buffer)
    return {font.glyph_to_string(info.codepoint) for info in buffer.glyph_infos}


def test_the_arabic_is_shaped_joined_forms_not_isolated_letters(arabic):
    fonts = embedded_fonts(arabic)
    embedded = set(fonts["NotoNaskhArabic"].getGlyphOrder()) | set(fonts["NotoNaskhArabicBold"].getGlyphOrder())
    wanted = set().union(*(_shaped_glyphs(TEXTS["ar"][key]) for key in ("title", "statement", "verify")))
    wanted |= set().union(*(_shaped_glyphs(TEXTS["ar"][key], bold=True) for key in ARABIC_LABELS[1:]))
    # The contextual forms by their names (ligatures and punctuation lose or change names in the subset).
    joined = {name for name in wanted if re.fullmatch(r"uniFE[0-9A-F]{2}", name)}
    assert len(joined) >= 20, "the labels have joining letters"
    assert joined <= embedded
    # "وصل الأداء": the waw stands alone, then sad initial (FEBB), lam final (FEDE): what shaping gives.
    assert {"uniFEBB", "uniFEDE"} <= embedded


def _lines_of(content: bytes) -> list[tuple[float, float, str]]:
    """(x, y, text) of every text run pypdf visits on the first page."""
    found: list[tuple[float, float, str]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            found.append((tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5], text))

    PdfReader(io.BytesIO(content)).pages[0].extract_text(visitor_text=visit)
    return found


def test_arabic_labels_start_at_the_right_margin_and_french_ones_at_the_left(french, arabic):
    page_width = 595.28  # A4 in points
    arabic_x = [x for x, _, run in _lines_of(arabic) if folded(TEXTS["ar"]["issuer"]) in folded(run)]
    french_x = [x for x, _, run in _lines_of(french) if "Émetteur" in run]
    assert arabic_x
    assert french_x
    assert min(arabic_x) > page_width / 2  # right-aligned column of labels
    assert max(french_x) < page_width / 4


def test_the_qr_code_leads_to_the_verification_page(french, arabic):
    assert qr_codes(french) == [VERIFY_URL]
    assert qr_codes(arabic) == [VERIFY_URL]


def test_the_verification_address_keeps_the_page_s_own_query():
    payment = a_paid_payment()
    assert receipt_pdf.verification_url("https://portal.example.ma/pay?x=1", payment.receipt_code) == (
        "https://portal.example.ma/pay?x=1&verify=7K3M9Q2W8X4RZ6TV"
    )


@pytest.mark.parametrize(
    ("instant", "lang", "shown"),
    [
        # 2026-05-28T20:26:40Z: Morocco is on UTC+1 outside Ramadan.
        (1_779_999_999 + 1, "fr", "28/05/2026 21:26 (heure du Maroc, UTC+01:00)"),
        # 2026-03-01T12:00:00Z, during Ramadan: Morocco is on UTC+0.
        (1_772_366_400, "en", "01/03/2026 12:00 (Morocco time, UTC+00:00)"),
    ],
)
def test_paid_at_is_shown_in_morocco_s_time(instant, lang, shown):
    assert morocco_time(instant, lang) == shown


def test_morocco_s_time_comes_from_the_pinned_tz_database():
    assert receipt_pdf.morocco().key == "Africa/Casablanca"
    assert receipt_pdf.morocco() is receipt_pdf.morocco()


@pytest.mark.parametrize(
    ("centimes", "lang", "shown"),
    [
        (127_100, "fr", "1\u00a0271,00\u00a0MAD"),
        (127_100, "en", "1,271.00 MAD"),
        (127_100, "ar", "1,271.00 MAD"),
        (5, "fr", "0,05\u00a0MAD"),
        (499_999_999_950, "en", "4,999,999,999.50 MAD"),
    ],
)
def test_amounts_are_written_for_the_language(centimes, lang, shown):
    assert amount_text(Money(centimes), lang) == shown


def test_a_payment_without_a_receipt_code_has_no_receipt():
    with pytest.raises(ValueError, match="paid"):
        render(a_paid_payment(receipt_code=None), "fr", FRONTEND)


def test_fifty_invoices_still_fit_and_the_last_ones_are_there():
    from epay.payments import PaymentLine

    lines = tuple(PaymentLine(f"inv-{index}", f"F-2026-{index:06d}", Money(100)) for index in range(50))
    content = render(a_paid_payment(lines=lines, amount=Money(5000)), "fr", FRONTEND)
    text = pdf_text(content)
    assert "F-2026-000049" in text
    assert "50,00" in text
