"""The DynamoDB client every store shares (one per container, built by `epay.runtime`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def client_factory(endpoint_url: str | None) -> Callable[[], Any]:
    """A factory for the DynamoDB client, with timeouts short enough to answer within API Gateway's limit."""

    def build() -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=2,
            read_timeout=5,
            retries={"max_attempts": 3, "mode": "standard"},
            tcp_keepalive=True,
        )
        return boto3.client("dynamodb", endpoint_url=endpoint_url, config=config)

    return build
