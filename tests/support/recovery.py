"""Recovery on the in-memory stores and gateways: `Rig` wires `RecoveryService` as `epay.runtime` does, to the
engine harness (`tests/support/engine.py`) and to `FakeCmi`/`FakeM2t`, on the harness's clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from epay.config import RecoverySettings
from epay.gateways.protocol import MerchantApi
from epay.money import Money
from epay.payments import Payment
from epay.recovery import PassReport, RecoveryService
from tests.support.engine import Harness
from tests.support.merchant_apis import FakeCmi, FakeM2t

AFTER = RecoverySettings().recovery_after_seconds  # 600: a payment is first asked about this long after creation


@dataclass
class Rig:
    h: Harness = field(default_factory=Harness)
    cmi: FakeCmi = field(default_factory=FakeCmi)
    m2t: FakeM2t = field(default_factory=FakeM2t)
    settings: RecoverySettings = field(default_factory=RecoverySettings)
    # The merchant APIs recovery talks to: the ledgers themselves, unless a test puts a wire in between.
    apis: dict[str, MerchantApi] | None = None

    @property
    def recovery(self) -> RecoveryService:
        return RecoveryService(
            invoices=self.h.invoices,
            payments=self.h.payments,
            callbacks=self.h.callbacks,
            apis=self.apis if self.apis is not None else {"CMI": self.cmi, "M2T": self.m2t},
            settings=self.settings,
            now_ms=lambda: self.h.now_ms,
        )

    def run(self) -> PassReport:
        """One pass, now."""
        report = self.recovery.run_pass()
        assert report.completed, report.as_dict()
        return report

    def later(self, seconds: int) -> PassReport:
        """Let `seconds` pass, then run a pass."""
        self.h.advance(seconds)
        return self.run()

    def until_quiet(self, passes: int = 60) -> None:
        """Run passes, each when the next payment is due, until none is due (at most `passes`)."""
        for _ in range(passes):
            due = [p.recovery.due for p in self.h.payments.payments.values() if p.recovery.due is not None]
            if not due:
                return
            self.h.now = max(self.h.now, min(due))
            self.run()
        raise AssertionError("recovery never went quiet")

    def payment(self, payment_id: str) -> Payment:
        return self.h.payment(payment_id)

    def kept(self, payment_id: str) -> Money:
        """What the gateways keep of the payer's money for this payment."""
        return Money(self.cmi.kept(payment_id).centimes + self.m2t.kept(payment_id).centimes)
