"""`epay serve` end to end over HTTP: the search as a payer's browser or curl uses it."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
import requests

from tests.support.factories import invoice_line
from tests.support.leaks import SERVE_SECRETS
from tests.support.servers import epay_serve, moto_server

pytestmark = pytest.mark.e2e


def search(base: str, **body):
    return requests.post(f"{base}/v1/invoices/search", json=body, timeout=10)


def walk(base: str, code: str, **extra) -> list[dict]:
    items, cursor = [], None
    while True:
        page = search(base, subscription_code=code, cursor=cursor, **extra).json()
        assert page["items"] or not items
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def stored_entities(client, table: str) -> Counter[str]:
    """What a table holds, by kind: invoices, payments, and the record of the invoice-id key (one `CONFIG`)."""
    return Counter(item["entity"]["S"] for item in client.scan(TableName=table)["Items"])


@pytest.fixture(scope="module")
def embedded():
    with epay_serve("--demo") as base:
        yield base


def test_demo_code_with_three_invoices(embedded):
    response = search(embedded, subscription_code="ab12")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert [item["invoice_number"] for item in response.json()["items"]] == [
        "F-2026-000123",
        "F-2026-000187",
        "F-2026-000242",
    ]


def test_demo_code_with_many_invoices_pages_through_all_of_them(embedded):
    items = walk(embedded, "MAR1")
    assert len(items) == 35
    assert len({item["invoice_id"] for item in items}) == 35
    keys = [(i["issuer"]["code"], i["issue_date"], i["invoice_number"]) for i in items]
    assert keys == sorted(keys)
    assert {i["issuer"]["code"] for i in items} == {"ANP", "MARSA", "TMSA"}


def test_each_filter_and_all_together_over_http(embedded):
    everything = walk(embedded, "MAR1")
    by_issuer = walk(embedded, "MAR1", filters={"issuer": "MARSA"})
    assert by_issuer == [i for i in everything if i["issuer"]["code"] == "MARSA"]
    dated = walk(embedded, "MAR1", filters={"issued_from": "2026-04-01", "issued_to": "2026-08-31"})
    assert dated == [i for i in everything if "2026-04-01" <= i["issue_date"] <= "2026-08-31"]
    priced = walk(embedded, "MAR1", filters={"min_amount": "10000.00"})
    assert priced == [i for i in everything if Decimal(i["amount"]) >= 10000]
    texts = walk(embedded, "MAR1", filters={"text": "MANUTENTION"})
    assert texts == [i for i in everything if "manutention" in i["description"].lower()]
    number = everything[7]["invoice_number"]
    assert walk(embedded, "MAR1", invoice_number=number) == [everything[7]]
    combined = walk(embedded, "MAR1", filters={"issuer": "ANP", "min_amount": "5000.00", "text": "escale"})
    assert combined == [
        i
        for i in everything
        if i["issuer"]["code"] == "ANP" and Decimal(i["amount"]) >= 5000 and "escale" in i["description"]
    ]


def test_unknown_and_nothing_unpaid_look_the_same(embedded):
    unknown, settled = search(embedded, subscription_code="ZZ99"), search(embedded, subscription_code="NUL0")
    assert unknown.status_code == settled.status_code == 200
    assert unknown.content == settled.content


def test_curl_style_form_content_type_is_read_as_json(embedded):
    response = requests.post(
        f"{embedded}/v1/invoices/search",
        data='{"subscription_code":"AB12"}',
        timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert len(response.json()["items"]) == 3


def test_errors_are_problem_json(embedded):
    response = search(embedded, subscription_code="AB1")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "INVALID_SUBSCRIPTION_CODE"


def test_openapi_document_lists_the_search(embedded):
    document = requests.get(f"{embedded}/v1/openapi.json", timeout=10).json()
    assert "/v1/invoices/search" in document["paths"]


def test_an_existing_dynamodb_endpoint_is_used_and_its_tables_created(tmp_path: Path):
    seed = tmp_path / "invoices.jsonl"
    seed.write_text(
        "\n".join(json.dumps(invoice_line(subscription_code="EX01", invoice_number=f"E-{n}")) for n in range(12)),
        encoding="utf-8",
    )
    with moto_server() as endpoint, epay_serve("--seed", str(seed), EPAY_DYNAMODB_ENDPOINT=endpoint) as base:
        assert len(walk(base, "EX01")) == 12
        client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x"
        )
        assert {"epay", "epay-rate-limits"} <= set(client.list_tables()["TableNames"])
        assert stored_entities(client, "epay") == {"INVOICE": 12, "CONFIG": 1}


def test_a_bad_seed_file_loads_nothing_and_names_the_lines(tmp_path: Path):
    import subprocess

    from tests.support.servers import EPAY, clean_environment

    seed = tmp_path / "bad.jsonl"
    seed.write_text(json.dumps(invoice_line()) + "\n{oops\n" + json.dumps(invoice_line(amount="1,00")) + "\n")
    with moto_server() as endpoint:
        result = subprocess.run(
            [str(EPAY), "load-invoices", str(seed), "--endpoint-url", endpoint, "--table", "epay"],
            capture_output=True,
            text=True,
            env=clean_environment(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x"),
            check=False,
            timeout=60,
        )
    assert result.returncode == 1
    assert "line 2" in result.stderr
    assert "line 3" in result.stderr
    assert "line 1:" not in result.stderr


def test_load_invoices_writes_a_valid_file_to_an_endpoint(tmp_path: Path):
    import subprocess

    from tests.support.servers import EPAY, clean_environment

    seed = tmp_path / "good.jsonl"
    seed.write_text("\n".join(json.dumps(invoice_line(subscription_code="LD01")) for _ in range(3)) + "\n")
    with moto_server() as endpoint:
        result = subprocess.run(
            [str(EPAY), "load-invoices", str(seed), "--endpoint-url", endpoint, "--table", "epay-loaded"],
            capture_output=True,
            text=True,
            env=clean_environment(EPAY_INVOICE_ID_KEY=SERVE_SECRETS["EPAY_INVOICE_ID_KEY"]),
            check=False,
            timeout=60,
        )
        client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x"
        )
        count = stored_entities(client, "epay-loaded")
    assert result.returncode == 0, result.stderr
    assert "3 written" in result.stdout
    assert count == {"INVOICE": 3, "CONFIG": 1}


def test_load_invoices_without_an_invoice_id_key_writes_nothing_and_names_the_setting(tmp_path: Path):
    import subprocess

    from tests.support.servers import EPAY, clean_environment

    seed = tmp_path / "good.jsonl"
    seed.write_text(json.dumps(invoice_line(subscription_code="LD01")) + "\n")
    with moto_server() as endpoint:
        result = subprocess.run(
            [str(EPAY), "load-invoices", str(seed), "--endpoint-url", endpoint, "--table", "epay-loaded"],
            capture_output=True,
            text=True,
            env=clean_environment(),
            check=False,
            timeout=60,
        )
        client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x"
        )
        count = stored_entities(client, "epay-loaded")
    assert result.returncode == 2
    assert "EPAY_INVOICE_ID_KEY" in result.stderr
    assert count == {}


def test_the_demo_data_loads_with_the_invoice_id_key_epay_serve_draws_at_start():
    with epay_serve("--demo", EPAY_INVOICE_ID_KEY="") as base:
        items = walk(base, "MAR1")
    assert len(items) == 35
    assert all(item["invoice_id"].startswith("inv-") for item in items)
