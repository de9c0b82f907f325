"""One logger and one metrics namespace for the three functions (Powertools, structured JSON)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="epay")
metrics = Metrics(namespace="Epay", service="epay")
