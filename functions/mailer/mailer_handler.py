"""mailer: sends each receipt e-mail the settlements queued (operations-api.md §7), fed by the main table's stream.

DynamoDB Streams invokes it with batches of the outbox's new entries only (template.yaml filters the stream: inserts
whose `pk` begins with `OUTBOX#`). A record that could not be sent for a reason that may pass (SES throttling, the
store, another attempt still holding the e-mail) is reported as the batch's first failure, so Lambda retries from
it; the records after it are retried too and find themselves sent (the outbox's claim). After the event source's
retries the batch's description goes to the on-failure queue (alarmed; docs/operations.md, "Receipt e-mails").
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from epay import runtime
from epay.adapters.dynamodb.items import mail_from_key
from epay.observability import logger, metrics

# What this function reads from its environment: deployed, it refuses to start without it (epay.runtime).
USE_CASES = (runtime.MAILER,)
runtime.start(*USE_CASES)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    mailer = runtime.receipt_mailer()
    for record in event.get("Records", []):
        mail = mail_from_key(record.get("dynamodb", {}).get("Keys", {}))
        if record.get("eventName") != "INSERT" or mail is None:
            continue  # not an outbox entry: the stream's filter lets none through, this guards a changed filter
        try:
            outcome = mailer.deliver(mail)
        except Exception as error:
            logger.warning(
                "receipt e-mail not sent: retried", extra={"payment_id": mail.payment_id, "error": type(error).__name__}
            )
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        logger.info("receipt e-mail", extra={"payment_id": mail.payment_id, "outcome": outcome.value})
    return {"batchItemFailures": []}
