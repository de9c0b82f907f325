"""`make bench`: cold start, DynamoDB work per API call, cost growth with data, per-request overhead, package size.

Every figure is a ratio or a count measured side by side in one run (`python -m benchmarks.run`), so it holds on a
noisy machine; `benchmarks.run` writes the table to `docs/performance.md`. Nothing here is part of `make test`.
"""
