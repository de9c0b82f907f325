"""The local stack's mail: an SES stand-in and the outbox page (operations-api.md §7).

`epay serve` points the mailer's SES client at `/_sim/ses` (`EPAY_SES_ENDPOINT`): the mailer's own code sends the
receipt as it would to SES (`SendRawEmail`, SES's query API, answered in SES's XML), and the message lands here
instead of in an inbox. A person reads it at `GET /_sim/mail` (a page: each message with its text and a link to its
attachments); tests read `GET /_sim/mail/messages` (JSON: `to`, `subject`, `sent_at`, `attachments`), and each
attachment at `GET /_sim/mail/messages/<n>/attachments/<i>`.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

SES_NAMESPACE = "http://ses.amazonaws.com/doc/2010-12-01/"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class SentMail:
    message_id: str
    to: list[str]
    sender: str
    subject: str
    sent_at: str
    body: str
    attachments: list[Attachment]

    def summary(self, index: int) -> dict[str, Any]:
        return {
            "to": self.to,
            "subject": self.subject,
            "sent_at": self.sent_at,
            "attachments": [
                {
                    "filename": attachment.filename,
                    "content_type": attachment.content_type,
                    "size": len(attachment.content),
                    "url": f"/_sim/mail/messages/{index}/attachments/{position}",
                }
                for position, attachment in enumerate(self.attachments)
            ],
            "from": self.sender,
            "message_id": self.message_id,
            "body": self.body,
        }


def _read(raw: bytes, destinations: list[str], message_id: str) -> SentMail:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    attachments = []
    for part in message.iter_attachments():
        content = part.get_payload(decode=True)
        attachments.append(
            Attachment(
                part.get_filename() or "attachment",
                part.get_content_type(),
                content if isinstance(content, bytes) else b"",
            )
        )
    return SentMail(
        message_id=message_id,
        to=destinations or [str(message.get("To", ""))],
        sender=str(message.get("From", "")),
        subject=str(message.get("Subject", "")),
        sent_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        body=text.get_content() if text is not None else "",
        attachments=attachments,
    )


@dataclass
class MailOutbox:
    """`/_sim/ses` (SES's `SendRawEmail`) and `/_sim/mail...` (what was sent)."""

    messages: list[SentMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if request.method == "POST" and path == "/_sim/ses":
            return self.ses(request)
        if request.method == "GET" and path == "/_sim/mail":
            return self.page()
        if request.method == "GET" and path == "/_sim/mail/messages":
            with self.lock:
                listed = [message.summary(index) for index, message in enumerate(self.messages)]
            return Response(json.dumps(listed, ensure_ascii=False), content_type="application/json")
        parts = path.split("/")
        if request.method == "GET" and len(parts) == 7 and parts[3:5] == ["messages", parts[4]]:
            return self.attachment(parts[4], parts[6])
        return Response("not found", status=404, content_type="text/plain")

    def ses(self, request: Request) -> Response:
        form = {name: values[0] for name, values in parse_qs(request.get_data(as_text=True)).items()}
        if form.get("Action") != "SendRawEmail" or "RawMessage.Data" not in form:
            return _ses_error("InvalidAction", "only SendRawEmail is simulated", 400)
        destinations = [value for name, value in sorted(form.items()) if name.startswith("Destinations.member.")]
        message_id = f"local-{secrets.token_hex(8)}"
        with self.lock:
            self.messages.append(_read(base64.b64decode(form["RawMessage.Data"]), destinations, message_id))
        body = (
            f'<SendRawEmailResponse xmlns="{SES_NAMESPACE}"><SendRawEmailResult><MessageId>{message_id}</MessageId>'
            f"</SendRawEmailResult><ResponseMetadata><RequestId>{secrets.token_hex(8)}</RequestId>"
            "</ResponseMetadata></SendRawEmailResponse>"
        )
        return Response(body, content_type="text/xml")

    def attachment(self, message: str, position: str) -> Response:
        with self.lock:
            try:
                found = self.messages[int(message)].attachments[int(position)]
            except (ValueError, IndexError):
                return Response("not found", status=404, content_type="text/plain")
        return Response(
            found.content,
            content_type=found.content_type,
            headers={"Content-Disposition": f'inline; filename="{found.filename}"'},
        )

    def page(self) -> Response:
        with self.lock:
            listed = list(enumerate(self.messages))
        items = "".join(_article(index, message) for index, message in reversed(listed))
        document = f"""<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Courriels envoyés</title>
<style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;color:#1d2733}}
article{{border:1px solid #ccd;border-radius:6px;padding:0 1rem;margin:1rem 0}}pre{{white-space:pre-wrap}}</style>
</head><body><p>Simulateur local — les courriels ne partent pas : ils arrivent ici.</p>
<h1>Courriels envoyés ({len(listed)})</h1>{items or "<p>Aucun courriel pour l'instant.</p>"}</body></html>"""
        return Response(document, content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


def _article(index: int, message: SentMail) -> str:
    links = "".join(
        f'<li><a href="/_sim/mail/messages/{index}/attachments/{position}">{html.escape(attachment.filename)}</a> '
        f"({len(attachment.content)} octets)</li>"
        for position, attachment in enumerate(message.attachments)
    )
    return f"""<article><h2>{html.escape(message.subject)}</h2>
<p>À : {html.escape(", ".join(message.to))} — de : {html.escape(message.sender)} — {html.escape(message.sent_at)}</p>
<pre>{html.escape(message.body)}</pre><ul>{links}</ul></article>"""


def _ses_error(code: str, message: str, status: int) -> Response:
    body = (
        f'<ErrorResponse xmlns="{SES_NAMESPACE}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{html.escape(message)}</Message></Error><RequestId>local</RequestId></ErrorResponse>"
    )
    return Response(body, status=status, content_type="text/xml")
