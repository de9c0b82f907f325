"""`epay serve`'s stand-in for DynamoDB Streams' event source mappings: the same handler, fed the same records.

In AWS, Lambda polls the main table's stream and invokes the mailer with the records its filter lets through
(template.yaml, `MailerFunction`'s `OutboxInserts`). Here a thread does the same against the local DynamoDB's stream
(moto and DynamoDB Local both have streams): it reads each shard from where it started, keeps the records that match
the event's filter patterns (the subset of EventBridge patterns the template uses: lists of values and `prefix`),
invokes the handler with up to `BatchSize` of them, and on a reported failure (`batchItemFailures`) retries from
that record at the next poll, at most `MaximumRetryAttempts` times. So a payment settled on a simulator has its
receipt in `/_sim/mail` within a poll or two, through the mailer's own code, with no AWS account.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from epay_local.gateway import LocalFunction
from epay_local.template import StreamConsumer


def matches(pattern: Any, value: Any) -> bool:
    """Does `value` match an event filter pattern (values listed, `prefix`, nested objects)?"""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            key in value and matches(expected, value[key]) for key, expected in pattern.items()
        )
    if isinstance(pattern, list):
        return any(
            (
                isinstance(option, dict)
                and "prefix" in option
                and isinstance(value, str)
                and value.startswith(option["prefix"])
            )
            or option == value
            for option in pattern
        )
    return bool(pattern == value)


class StreamFeeder:
    """Feeds one table's stream to one function, in a thread of its own, every `interval` seconds."""

    def __init__(self, client: Any, stream_arn: str, consumer: StreamConsumer, interval: float = 1.0) -> None:
        self.client = client
        self.stream_arn = stream_arn
        self.consumer = consumer
        self.interval = interval
        self.function = LocalFunction(consumer)
        self._iterators: dict[str, str | None] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._attempts: dict[str, int] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-{consumer.function}", daemon=True)

    def start(self) -> None:
        # From the stream's current end: what `epay serve` writes from now on (like a new mapping at LATEST).
        for shard in self._shards():
            self._iterators[shard] = self._iterator(shard, "LATEST")
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)

    def poll(self) -> int:
        """One pass over the shards; the number of records handed to the function."""
        handed = 0
        for shard in self._shards():
            if shard not in self._iterators:
                self._iterators[shard] = self._iterator(shard, "TRIM_HORIZON")
            iterator = self._iterators[shard]
            if iterator is not None:
                answer = self.client.get_records(ShardIterator=iterator, Limit=1000)
                self._iterators[shard] = answer.get("NextShardIterator")
                wanted = [record for record in answer.get("Records", []) if self._wanted(record)]
                self._pending.setdefault(shard, []).extend(wanted)
            handed += self._deliver(shard)
        return handed

    def _deliver(self, shard: str) -> int:
        pending = self._pending.get(shard, [])
        handed = 0
        while pending:
            batch = pending[: self.consumer.batch_size]
            handed += len(batch)
            result = self.function.invoke({"Records": batch}) or {}
            failures = [item["itemIdentifier"] for item in result.get("batchItemFailures", [])]
            if not failures:
                del pending[: len(batch)]
                continue
            first = next(i for i, record in enumerate(batch) if record["dynamodb"]["SequenceNumber"] in failures)
            del pending[:first]
            key = pending[0]["dynamodb"]["SequenceNumber"]
            self._attempts[key] = self._attempts.get(key, 0) + 1
            limit = self.consumer.maximum_retry_attempts
            if 0 <= limit < self._attempts[key]:
                print(f"stream: {self.consumer.function} gave up a record after {limit} retries", file=sys.stderr)
                del pending[0]
            break  # retried at the next poll, from the record that failed
        return handed

    def _wanted(self, record: dict[str, Any]) -> bool:
        return not self.consumer.filters or any(matches(pattern, record) for pattern in self.consumer.filters)

    def _shards(self) -> list[str]:
        description = self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        return [shard["ShardId"] for shard in description.get("Shards", [])]

    def _iterator(self, shard: str, kind: str) -> str | None:
        answer = self.client.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard, ShardIteratorType=kind)
        iterator: str | None = answer.get("ShardIterator")
        return iterator

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.poll()
            except Exception as error:  # the feeder must outlive a bad poll; the next one tries again
                print(f"stream: {self.consumer.function}: poll failed ({type(error).__name__})", file=sys.stderr)
