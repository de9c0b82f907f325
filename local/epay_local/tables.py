"""Create the template's DynamoDB tables on any endpoint (the embedded moto server, DynamoDB Local, moto mocks)."""

from __future__ import annotations

from typing import Any

from epay_local.template import table_definitions, table_environment

LOCAL_TABLE_NAMES = {
    "EPAY_TABLE": "epay",
    "EPAY_RATE_LIMIT_TABLE": "epay-rate-limits",
    "EPAY_IDEMPOTENCY_TABLE": "epay-idempotency",
}


def local_table_names(environ: dict[str, str]) -> dict[str, str]:
    """Logical id -> table name, honouring `EPAY_*_TABLE` variables that are already set."""
    names: dict[str, str] = {}
    for variable, logical_id in table_environment().items():
        names[logical_id] = environ.get(variable) or LOCAL_TABLE_NAMES.get(variable, logical_id.lower())
    return names


def ensure_tables(client: Any, names: dict[str, str]) -> list[str]:
    """Create every missing table of the template under the given names; return the names created."""
    existing = set(client.list_tables().get("TableNames", []))
    created: list[str] = []
    for logical_id, definition in table_definitions().items():
        name = names.get(logical_id)
        if name is None or name in existing:
            continue
        arguments = {key: value for key, value in definition.items() if not key.startswith("_")}
        client.create_table(TableName=name, **arguments)
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
        if "_ttl_attribute" in definition:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": definition["_ttl_attribute"], "Enabled": True},
            )
        created.append(name)
    return created
