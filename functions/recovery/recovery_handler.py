"""recovery: one recovery pass, run by EventBridge Scheduler every 5 minutes (operations-api.md §1).

A pass asks the gateways about the payments due for a check and returns money that settles nothing. It is bounded
(`EPAY_RECOVERY_BATCH` payments, `EPAY_RECOVERY_PASS_SECONDS`, well inside the function's timeout) and safe to run
twice at once. A pass whose storage failed raises, so the invocation counts as an error: Lambda retries it once (the
scheduler invokes asynchronously), then sends the event to the dead-letter queue (alarmed). A gateway that does not
answer is not a failure: the payment is asked again at its next check.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from epay import runtime
from epay.observability import logger, metrics

# What this function reads from its environment: deployed, it refuses to start without it (epay.runtime).
USE_CASES = (runtime.RECOVERY,)
runtime.start(*USE_CASES)


class RecoveryPassFailed(RuntimeError):
    """The store failed during the pass: what was not done is still due, and the next pass does it."""


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = runtime.recovery_service().run_pass()
    summary = report.as_dict()
    if not report.completed:
        raise RecoveryPassFailed(f"{report.store_failures} visit(s) stopped by a storage failure")
    return summary
