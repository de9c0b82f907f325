"""Rate-limit counters in their own table (`EPAY_RATE_LIMIT_TABLE`): one item per scope, address and hour, expiring
by TTL (docs/data-model.md); and the records of redeemed lookup proofs (`claim_once`, `proof#<digest>`, expiring
with their challenge). Kept apart from the main table so IAM can give the callback function no access to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from epay.adapters.dynamodb.items import Attributes, marshal
from epay.adapters.dynamodb.transactions import error_code, translated_failures


@dataclass
class DynamoCounters:
    """`HitCounter` (`epay.ports`) over the rate-limit table."""

    client: Any
    table: str

    def count_hit(self, counter: str, fields: list[str], expires_at: int) -> dict[str, int]:
        """Add one to each of `fields` of a counter item that expires by TTL; return every count it holds."""
        names = {f"#f{index}": name for index, name in enumerate(fields)}
        additions = ", ".join(f"{alias} :one" for alias in names)
        with translated_failures():
            response = self.client.update_item(
                TableName=self.table,
                Key=marshal({"pk": counter}),
                UpdateExpression=f"ADD {additions} SET #exp = if_not_exists(#exp, :exp)",
                ExpressionAttributeNames={**names, "#exp": "expires_at"},
                ExpressionAttributeValues=marshal({":one": 1, ":exp": expires_at}),
                ReturnValues="ALL_NEW",
            )
        return Attributes.of(response.get("Attributes", {})).whole_numbers()

    def claim_once(self, key: str, expires_at: int) -> bool:
        """`ProofLedger` (`epay.challenge`): record `key` unless recorded; the record expires by TTL."""
        try:
            with translated_failures():
                self.client.put_item(
                    TableName=self.table,
                    Item=marshal({"pk": key, "expires_at": expires_at}),
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True
