"""`epay migrate-invoice-ids` as an operator runs it: against a DynamoDB endpoint, with the table's key."""

from __future__ import annotations

import subprocess

import boto3
import pytest

from epay.adapters.dynamodb.invoices import DynamoInvoiceStore
from epay.invoices import invoice_id_for
from epay_local.tables import ensure_tables, local_table_names
from tests.support.factories import an_invoice, under_legacy_id
from tests.support.leaks import SERVE_SECRETS
from tests.support.servers import EPAY, clean_environment, moto_server

pytestmark = pytest.mark.e2e

KEY = SERVE_SECRETS["EPAY_INVOICE_ID_KEY"]


def run_migration(endpoint: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EPAY), "migrate-invoice-ids", "--endpoint-url", endpoint, "--table", "epay"],
        capture_output=True,
        text=True,
        env=clean_environment(**environment),
        check=False,
        timeout=60,
    )


def test_the_command_moves_legacy_invoices_then_says_it_is_complete():
    with moto_server() as endpoint:
        client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x"
        )
        ensure_tables(client, local_table_names({"EPAY_TABLE": "epay"}))
        store = DynamoInvoiceStore(client, "epay")
        invoices = [an_invoice("MG01", number=f"M-{index}") for index in range(3)]
        for invoice in invoices:
            store.upsert_invoice(under_legacy_id(invoice), 1_795_000_000)
        first = run_migration(endpoint, EPAY_INVOICE_ID_KEY=KEY)
        second = run_migration(endpoint, EPAY_INVOICE_ID_KEY=KEY)
        stored = {invoice.invoice_id for invoice in store.scan_invoices()}
    assert first.returncode == 0, first.stderr
    assert "moved 3 invoice(s)" in first.stdout
    assert "complete" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "moved 0 invoice(s)" in second.stdout
    assert stored == {invoice_id_for(KEY.encode(), "MG01", "ANP", f"M-{index}") for index in range(3)}
    assert KEY not in first.stdout + first.stderr + second.stdout + second.stderr


def test_without_the_key_nothing_is_migrated():
    with moto_server() as endpoint:
        result = run_migration(endpoint)
    assert result.returncode == 2
    assert "EPAY_INVOICE_ID_KEY" in result.stderr
