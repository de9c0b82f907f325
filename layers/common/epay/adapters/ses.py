"""The one place that talks to Amazon SES: a raw MIME message (the receipt attached), sent with `SendRawEmail`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from epay.receipt_mailer import MailRejected

# SES's answers that say this message will never be accepted (retrying sends nothing); every other failure
# (throttling, a paused account, an identity not verified yet, the network) may pass and is retried by the stream.
_REFUSED_FOR_GOOD = frozenset({"MessageRejected", "InvalidParameterValue"})


@dataclass(frozen=True)
class SesSender:
    """`MailSender` over SES (v1 API: `ses:SendRawEmail` on the sending identity, nothing else)."""

    client: Any

    def send(self, sender: str, recipient: str, message: bytes) -> str:
        try:
            answer = self.client.send_raw_email(Source=sender, Destinations=[recipient], RawMessage={"Data": message})
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _REFUSED_FOR_GOOD:
                raise MailRejected(code) from error
            raise
        return str(answer["MessageId"])


def ses_client(endpoint: str | None) -> Any:
    """An SES client with short timeouts and botocore's standard retries (the local stack's simulator when
    `endpoint` is given)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client("ses", endpoint_url=endpoint, config=config)
