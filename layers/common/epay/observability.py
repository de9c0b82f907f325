"""One logger and one metrics namespace for the three functions (Powertools, structured JSON)."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="epay")
metrics = Metrics(namespace="Epay", service="epay")

# Most requests (lookups, refusals) publish no metric; that is normal, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")
