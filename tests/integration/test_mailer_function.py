"""The mailer function on moto (operations-api.md §7): DynamoDB Streams' records of the outbox in, SES out.

The records are those the table's stream really carries (read from moto's stream of the template's table, which
template.yaml declares `KEYS_ONLY`), filtered as the template's event filter does, handed to the handler as Lambda
hands them. SES is moto's, with the sender's domain verified.
"""

from __future__ import annotations

import json

import boto3
import pytest

import mailer_handler
from epay import runtime
from epay.receipts import MailState, ReceiptMail
from epay_local.streams import matches
from epay_local.template import load_template, stream_consumers
from tests.support.factories import FakeLambdaContext, an_invoice
from tests.support.payments import CODE, NOW, given_invoices, pay_by_card, start_payment


@pytest.fixture
def ses(dynamodb):
    client = boto3.client("ses", region_name="eu-west-3")
    client.verify_domain_identity(Domain="portnet.ma")
    return client


def stream_records(dynamodb) -> list[dict]:
    """Every record of the main table's stream so far, as Lambda would receive them (after the template's filter)."""
    streams = boto3.client("dynamodbstreams", region_name="eu-west-3")
    arn = dynamodb.describe_table(TableName="epay-test")["Table"]["LatestStreamArn"]
    (consumer,) = stream_consumers()
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        records += streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return [record for record in records if any(matches(pattern, record) for pattern in consumer.filters)]


def paid_payment(frozen) -> str:
    invoices = given_invoices(an_invoice(CODE, amount="75.00"))
    created = start_payment(invoices, "CMI", "CARD")
    pay_by_card(created)
    return created["payment_id"]


def test_the_stream_carries_keys_only_and_the_filter_lets_only_the_outbox_s_inserts_through(dynamodb, frozen):
    payment_id = paid_payment(frozen)
    records = stream_records(dynamodb)
    assert [record["dynamodb"]["Keys"]["sk"]["S"] for record in records] == [f"RECEIPT_MAIL#{payment_id}"]
    assert "NewImage" not in records[0]["dynamodb"]
    table = load_template()["Resources"]["EpayTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "KEYS_ONLY"}


def test_the_mailer_sends_each_queued_receipt_once_through_ses(dynamodb, frozen, ses):
    payment_id = paid_payment(frozen)
    event = {"Records": stream_records(dynamodb)}
    assert mailer_handler.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    mail = ReceiptMail.queued(payment_id, NOW)
    assert runtime.payment_store().mail_state(mail) is MailState.SENT
    sent = ses.get_send_quota()["SentLast24Hours"]
    assert sent > 0
    # The same records again (a retried batch): nothing is sent twice.
    assert mailer_handler.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert ses.get_send_quota()["SentLast24Hours"] == sent


def test_a_record_ses_cannot_take_now_is_reported_so_the_stream_retries_it(dynamodb, frozen, monkeypatch):
    # No identity verified: SES refuses the sender (MessageRejected in moto; in AWS, an unverified identity).
    payment_id = paid_payment(frozen)
    from epay.adapters import ses as ses_adapter

    monkeypatch.setattr(ses_adapter, "_REFUSED_FOR_GOOD", frozenset())
    records = stream_records(dynamodb)
    answer = mailer_handler.lambda_handler({"Records": records}, FakeLambdaContext())
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    assert runtime.payment_store().mail_state(ReceiptMail.queued(payment_id, NOW)) is MailState.PENDING


def test_the_event_filter_is_json_lambda_accepts():
    (consumer,) = stream_consumers()
    assert consumer.filters == (
        {"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "OUTBOX#"}]}}}},
    )
    assert json.dumps(consumer.filters[0])
