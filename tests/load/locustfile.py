"""Load profile for `epay serve`: payers looking up invoices (most traffic) and starting payments.

Search: the demo codes and a large seeded code, first pages and a follow-up page. Payment: start a CMI card
payment for one free invoice of the seeded code, read it, then cancel it (so the invoice is free again and the
run can go on indefinitely without running out of payable invoices). Every answer must be the expected one.
"""

from __future__ import annotations

import itertools
import os
import threading

from locust import HttpUser, between, task

LOAD_CODE = "LD77"
INVOICES = int(os.environ.get("EPAY_LOAD_INVOICES", "400"))
PAYER = {"name": "Transit Atlas", "email": "compta@atlas.example.ma"}
_lock = threading.Lock()
_next = itertools.count()


def invoice_ids() -> list[str]:
    """The seeded code's invoice ids (read once, as a payer's page would)."""
    import requests

    host = os.environ["EPAY_LOAD_HOST"]
    ids, cursor = [], None
    while True:
        page = requests.post(
            f"{host}/v1/invoices/search",
            json={"subscription_code": LOAD_CODE, "page_size": 50, "cursor": cursor},
            timeout=30,
        ).json()
        ids += [item["invoice_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


_IDS: list[str] = []


class Payer(HttpUser):
    wait_time = between(0.05, 0.2)

    def on_start(self) -> None:
        with _lock:
            if not _IDS:
                _IDS.extend(invoice_ids())

    @task(8)
    def look_up(self) -> None:
        code = ["AB12", "MAR1", "NUL0", LOAD_CODE][next(_next) % 4]
        with self.client.post(
            "/v1/invoices/search", json={"subscription_code": code}, name="search", catch_response=True
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"search answered {answer.status_code}")
                return
            cursor = answer.json()["next_cursor"]
        if cursor:
            with self.client.post(
                "/v1/invoices/search",
                json={"subscription_code": code, "cursor": cursor},
                name="search (next page)",
                catch_response=True,
            ) as following:
                if following.status_code != 200:
                    following.failure(f"next page answered {following.status_code}")

    @task(2)
    def pay_then_cancel(self) -> None:
        with _lock:
            invoice_id = _IDS[next(_next) % len(_IDS)]
        body = {
            "subscription_code": LOAD_CODE,
            "invoice_ids": [invoice_id],
            "gateway": "CMI",
            "method": "CARD",
            "payer": PAYER,
        }
        with self.client.post("/v1/payments", json=body, name="start payment", catch_response=True) as answer:
            if answer.status_code == 409:
                answer.success()  # another user holds this invoice right now: the expected answer
                return
            if answer.status_code != 201:
                answer.failure(f"payment answered {answer.status_code}")
                return
            payment_id = answer.json()["payment_id"]
        self.client.get(f"/v1/payments/{payment_id}", name="read payment")
        self.client.post(f"/v1/payments/{payment_id}/cancel", name="cancel payment")
