"""The receipt's words (operations-api.md §7), in the three languages of the payer's page: its PDF and its e-mail.

With the error catalogue, the one other place in the layer that writes what a person reads (a test holds the layer
to it). A receipt is written in the language the payer asked for (`?lang=`, or the payment's `lang` for the e-mail).
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("fr", "ar", "en")
RIGHT_TO_LEFT = frozenset({"ar"})

TEXTS: Mapping[str, Mapping[str, str]] = {
    "fr": {
        "title": "Reçu de paiement",
        "service": "E-Paiement pour un tiers",
        "statement": "PORTNET atteste que les factures ci-dessous ont été réglées en ligne par ce paiement.",
        "issuer": "Émetteur",
        "payment_id": "Référence du paiement",
        "paid_at": "Payé le",
        "morocco_time": "heure du Maroc",
        "gateway": "Plateforme de paiement",
        "transaction": "Transaction",
        "receipt_code": "Code du reçu",
        "invoice": "Facture",
        "amount": "Montant",
        "total": "Total",
        "verify": "Vérifiez ce reçu en scannant le QR code ou à l'adresse :",
        "method.CARD": "carte bancaire",
        "method.FATOURATI": "Fatourati",
        "method.TASHILAT": "TASHILAT",
        "method.DIRECT_DEBIT": "Débit Direct",
        "mail.subject": "Votre reçu de paiement PORTNET {code}",
        "mail.body": (
            "Bonjour,\n\nVotre paiement de {amount} MAD à {issuer} a bien été reçu le {paid_at}.\n"
            "Vous trouverez votre reçu en pièce jointe. Toute personne peut le vérifier à l'adresse :\n{url}\n\n"
            "PORTNET, E-Paiement pour un tiers\n(Message automatique, merci de ne pas y répondre.)\n"
        ),
        "mail.filename": "recu-portnet-{code}.pdf",
    },
    "ar": {
        "title": "وصل الأداء",
        "service": "الأداء الإلكتروني لفائدة الغير",
        "statement": "تشهد PORTNET بأن الفواتير أدناه قد تم أداؤها عبر الإنترنت بواسطة عملية الأداء هذه.",
        "issuer": "الجهة المُصدِرة",
        "payment_id": "مرجع عملية الأداء",
        "paid_at": "تاريخ الأداء",
        "morocco_time": "بتوقيت المغرب",
        "gateway": "منصة الأداء",
        "transaction": "رقم المعاملة",
        "receipt_code": "رمز الوصل",
        "invoice": "الفاتورة",
        "amount": "المبلغ",
        "total": "المجموع",
        "verify": "تحقّق من هذا الوصل بمسح رمز QR أو عبر العنوان:",
        "method.CARD": "بطاقة بنكية",
        "method.FATOURATI": "فاتورتي",
        "method.TASHILAT": "تسهيلات",
        "method.DIRECT_DEBIT": "الاقتطاع المباشر",
        "mail.subject": "وصل الأداء الخاص بكم من PORTNET {code}",
        "mail.body": (
            "مرحبا،\n\nتم استلام أدائكم بمبلغ {amount} درهم لفائدة {issuer} بتاريخ {paid_at}.\n"
            "تجدون وصل الأداء مرفقا بهذه الرسالة. يمكن لأي شخص التحقق منه عبر العنوان:\n{url}\n\n"
            "PORTNET، الأداء الإلكتروني لفائدة الغير\n(رسالة آلية، يرجى عدم الرد عليها.)\n"
        ),
        "mail.filename": "wasl-portnet-{code}.pdf",
    },
    "en": {
        "title": "Payment receipt",
        "service": "E-Payment for a third party",
        "statement": "PORTNET certifies that the invoices below were paid online by this payment.",
        "issuer": "Issuer",
        "payment_id": "Payment reference",
        "paid_at": "Paid on",
        "morocco_time": "Morocco time",
        "gateway": "Payment platform",
        "transaction": "Transaction",
        "receipt_code": "Receipt code",
        "invoice": "Invoice",
        "amount": "Amount",
        "total": "Total",
        "verify": "Check this receipt by scanning the QR code or at:",
        "method.CARD": "bank card",
        "method.FATOURATI": "Fatourati",
        "method.TASHILAT": "TASHILAT",
        "method.DIRECT_DEBIT": "direct debit",
        "mail.subject": "Your PORTNET payment receipt {code}",
        "mail.body": (
            "Hello,\n\nYour payment of {amount} MAD to {issuer} was received on {paid_at}.\n"
            "Your receipt is attached. Anyone can check it at:\n{url}\n\n"
            "PORTNET, E-Payment for a third party\n(Automatic message, please do not reply.)\n"
        ),
        "mail.filename": "receipt-portnet-{code}.pdf",
    },
}


def text(lang: str, key: str, **values: object) -> str:
    """The receipt's `key` in `lang` (French for a language it does not have), its placeholders filled."""
    words = TEXTS.get(lang, TEXTS["fr"])
    return words[key].format(**values) if values else words[key]


def method_label(lang: str, method: str) -> str:
    """A payment method as the receipt names it (its code when it has no words yet)."""
    words = TEXTS.get(lang, TEXTS["fr"])
    return words.get(f"method.{method}", method)
