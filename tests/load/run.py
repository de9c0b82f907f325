"""Run the load profile headless against a fresh `epay serve` and report the figures (`make load`).

`python -m tests.load.run --seconds 60 --users 20` starts the local stack with a seeded code, runs Locust headless,
and prints throughput, p50/p99 latency and failures per request kind, with the machine it ran on.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.servers import epay_serve

HERE = Path(__file__).resolve().parent
LIMITS = {
    "EPAY_LOOKUP_LIMIT_PER_MINUTE": "100000",
    "EPAY_LOOKUP_MISSES_PER_HOUR": "100000",
    "EPAY_PAYMENT_LIMIT_PER_MINUTE": "100000",
    "EPAY_PAYMENT_MISSES_PER_HOUR": "100000",
    # Every user pays the same code's invoices at once (start, read, cancel): a throughput run keeps the code's live
    # payments under the most the setting allows (api.md §8's limit has its own specifications).
    "EPAY_LIVE_PAYMENTS_PER_CODE": "20",
}


def seed_file(directory: Path, count: int) -> Path:
    path = directory / "load.jsonl"
    lines = []
    for index in range(count):
        lines.append(
            json.dumps(
                {
                    "subscription_code": "LD77",
                    "invoice_number": f"LD-2026-{index:05d}",
                    "issuer_code": ["ANP", "MARSA", "TMSA"][index % 3],
                    "issuer_name": ["Agence Nationale des Ports", "Marsa Maroc", "Tanger Med Port Authority"][
                        index % 3
                    ],
                    "issue_date": f"2026-{1 + index % 12:02d}-{1 + index % 28:02d}",
                    "amount": f"{100 + index % 9000}.{index % 100:02d}",
                    "currency": "MAD",
                    "description": f"Escale 2026/{index}",
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def run(seconds: int, users: int, invoices: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as work:
        directory = Path(work)
        with epay_serve("--demo", "--seed", str(seed_file(directory, invoices)), **LIMITS) as base:
            env = {**os.environ, "EPAY_LOAD_HOST": base, "EPAY_LOAD_INVOICES": str(invoices)}
            command = [
                str(Path(sys.executable).with_name("locust")),
                "-f",
                str(HERE / "locustfile.py"),
                "--headless",
                "--host",
                base,
                "--users",
                str(users),
                "--spawn-rate",
                str(users),
                "--run-time",
                f"{seconds}s",
                "--csv",
                str(directory / "load"),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ]
            subprocess.run(command, env=env, check=False, capture_output=True, timeout=seconds + 120)
        figures: dict[str, dict[str, float]] = {}
        with (directory / "load_stats.csv").open(encoding="utf-8") as stats:
            for row in csv.DictReader(stats):
                figures[row["Name"]] = {
                    "requests": float(row["Request Count"]),
                    "failures": float(row["Failure Count"]),
                    "rps": float(row["Requests/s"]),
                    "p50_ms": float(row["50%"]),
                    "p99_ms": float(row["99%"]),
                }
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--invoices", type=int, default=400)
    args = parser.parse_args()
    figures = run(args.seconds, args.users, args.invoices)
    print(f"machine: {machine()}; {args.users} users for {args.seconds} s; seeded invoices: {args.invoices}")
    print(f"{'request':<22}{'count':>8}{'failures':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, row in figures.items():
        print(
            f"{name:<22}{row['requests']:>8.0f}{row['failures']:>10.0f}{row['rps']:>9.1f}{row['p50_ms']:>9.0f}"
            f"{row['p99_ms']:>9.0f}"
        )
    return 1 if figures.get("Aggregated", {}).get("failures", 1) else 0


if __name__ == "__main__":
    sys.exit(main())
