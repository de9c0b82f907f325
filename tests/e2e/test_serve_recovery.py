"""Recovery end to end (operations-api.md §1): the payer pays on a simulator's hosted page, the callback is lost,
and the payment is settled anyway, by `epay reconcile` (one pass, a process of its own on the same table) and by the
passes `epay serve` runs every `EPAY_RECOVERY_INTERVAL_SECONDS`; the simulators' ledgers show one capture."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from epay.gateways.clients import CmiApiClient
from epay.gateways.cmi_api import CmiApiCredentials, CmiOrderStatus, TransStat
from tests.e2e.test_serve_gateway_apis import CMI_PASSWORD, CMI_USER, pay_on_cmi, pay_on_m2t
from tests.e2e.test_serve_payments import start, status_of
from tests.support.leaks import SERVE_SECRETS
from tests.support.servers import EPAY, ROOT, clean_environment, epay_serve, moto_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def endpoint():
    with moto_server() as url:
        yield url


def test_a_lost_cmi_callback_is_recovered_by_epay_reconcile_and_captured_once(endpoint):
    # The stack's own passes are an hour apart here: only `epay reconcile` acts.
    with epay_serve("--demo", EPAY_DYNAMODB_ENDPOINT=endpoint, EPAY_RECOVERY_INTERVAL_SECONDS="3600") as base:
        payment, _ = start(base, "CMI", "CARD")
        pay_on_cmi(base, payment, lose_callback=True)
        assert status_of(base, payment["payment_id"])["status"] == "PENDING"
        port = base.rsplit(":", 1)[1]

        def reconcile() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(EPAY), "reconcile", "--endpoint-url", endpoint, "--port", port],
                cwd=ROOT,
                env=clean_environment(**SERVE_SECRETS, EPAY_RECOVERY_AFTER_SECONDS="0"),
                capture_output=True,
                text=True,
                timeout=120,
            )

        first = reconcile()
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["visits"].get("captured", 0) >= 1
        assert status_of(base, payment["payment_id"])["status"] == "PAID"

        second = reconcile()  # nothing left to do: the same pass again changes nothing
        assert second.returncode == 0, second.stderr
        assert status_of(base, payment["payment_id"])["status"] == "PAID"
        cmi = CmiApiClient(f"{base}/_sim/cmi/api", CmiApiCredentials(CMI_USER, CMI_PASSWORD, "600000000"))
        order = cmi.status(payment["payment_id"])
        assert isinstance(order, CmiOrderStatus)
        assert order.trans_stat is TransStat.CAPTURED


def test_epay_reconcile_names_a_missing_secret_and_changes_nothing(endpoint):
    secrets = {name: value for name, value in SERVE_SECRETS.items() if name != "EPAY_CMI_API_PASSWORD"}
    done = subprocess.run(
        [str(EPAY), "reconcile", "--endpoint-url", endpoint],
        cwd=ROOT,
        env=clean_environment(**secrets),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "EPAY_CMI_API_PASSWORD" in done.stderr
    assert SERVE_SECRETS["EPAY_M2T_SECRET"] not in done.stderr + done.stdout


def test_epay_serve_recovers_a_lost_m2t_notification_by_itself():
    with epay_serve("--demo", EPAY_RECOVERY_INTERVAL_SECONDS="1", EPAY_RECOVERY_AFTER_SECONDS="0") as base:
        payment, _ = start(base, "M2T", "CARD")
        pay_on_m2t(base, payment, "approve", lose_callback=True)
        deadline = time.monotonic() + 30
        while status_of(base, payment["payment_id"])["status"] != "PAID":
            assert time.monotonic() < deadline, "no pass settled the payment within 30 s"
            time.sleep(0.5)


def test_epay_reconcile_exits_1_when_the_store_fails():
    from tests.support.servers import free_port

    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = subprocess.run(
        [str(EPAY), "reconcile", "--endpoint-url", closed],
        cwd=ROOT,
        env=clean_environment(**SERVE_SECRETS, AWS_MAX_ATTEMPTS="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "the store failed" in done.stderr
