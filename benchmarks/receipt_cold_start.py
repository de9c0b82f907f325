"""The receipt function's cold start (operations-api.md §7), next to its floor and to the lookup's.

Fresh `python -B` processes, each series the median of `reps`, interleaved: the floor (boto3, pydantic and the
Powertools resolver and logger: what every HTTP function imports), the receipt handler's import, and the import
followed by the first receipt drawn (French, then Arabic: fonts parsed, HarfBuzz loaded, the page written) — what
the first request of a new container costs on top of the import. The lookup's import is measured beside them, to
show that serving `GET /v1/receipts/{code}` from list_invoices left its cold start alone and that no receipt package
reaches it (the process fails if `fpdf`, `PIL`, `fontTools`, `uharfbuzz` or `segno` is imported). Packages come from
the development venv (x86-64 here; the layer ships the arm64 builds of the same versions).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys

from benchmarks.common import INFO, ROOT, Section, bench_environment, median, ms, progress, times, verdict

TITLE = "6. Receipts: the receipt function's cold start, and the lookup's without the receipt layer"
HEAVY = ("fpdf", "PIL", "fontTools", "uharfbuzz", "segno")
_PRELUDE = "import os, sys, time; started = time.process_time(); wall = time.perf_counter()\n"
_REPORT = "\nprint(__import__('json').dumps([time.process_time() - started, time.perf_counter() - wall]))\n"
SERIES = {
    "floor": "import boto3, pydantic, aws_lambda_powertools.event_handler, aws_lambda_powertools.logging",
    "receipt import": "import receipt_handler",
    "receipt import + first PDF (fr, ar)": (
        "import receipt_handler\n"
        "from epay.receipt_pdf import render\n"
        "from tests.support.receipts import a_paid_payment\n"
        "render(a_paid_payment(), 'fr', 'https://www.portnet.ma/e-paiement/')\n"
        "render(a_paid_payment(), 'ar', 'https://www.portnet.ma/e-paiement/')"
    ),
    "list_invoices import": (
        "import list_invoices_handler\n"
        f"assert not [name for name in {HEAVY!r} if name in sys.modules], 'a receipt package in the lookup'"
    ),
}


def _once(code: str) -> tuple[float, float]:
    path = [str(ROOT), str(ROOT / "functions" / "receipt"), str(ROOT / "functions" / "list_invoices")]
    environment = {**bench_environment(), "PYTHONPATH": ":".join(path)}
    completed = subprocess.run(
        [sys.executable, "-B", "-c", _PRELUDE + code + _REPORT],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr[-2000:])
    cpu, wall = json.loads(completed.stdout.strip().splitlines()[-1])
    return float(cpu), float(wall)


def measure(reps: int) -> Section:
    section = Section(TITLE)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in SERIES}
    for round_index in range(reps):
        order = list(SERIES)
        random.shuffle(order)
        for name in order:
            samples[name].append(_once(SERIES[name]))
        progress(f"receipts: round {round_index + 1}/{reps}")
    cpu = {name: median([sample[0] for sample in found]) for name, found in samples.items()}
    wall = {name: median([sample[1] for sample in found]) for name, found in samples.items()}
    floor = cpu["floor"]
    for name in SERIES:
        section.add(
            name,
            "-",
            f"{ms(cpu[name])} CPU ({times(cpu[name] / floor)} the floor), {ms(wall[name])} wall",
            INFO,
        )
    section.add(
        "the lookup imports no receipt package",
        "none of fpdf, PIL, fontTools, uharfbuzz, segno",
        "none (checked in every list_invoices process)",
        verdict(True),
    )
    section.data["receipt_cpu"] = cpu
    return section
