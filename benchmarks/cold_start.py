"""Cold start: the import of each handler in a fresh process, next to its dependency floor, side by side.

The processes see what a Lambda container sees: the function's directory first on `sys.path`, then the layer as
`sam build` makes it (its exact package set, from `package_size`; the pure-Python and x86-64 copies of the same
versions come from the venv because the built layer holds arm64 binaries), boto3 from the runtime (the venv's,
already compiled, as the Lambda runtime's is). Two layer variants:

- "as built": no `.pyc` anywhere in the layer, which is what `sam build` ships (checked in section 5), so every
  cold start compiles pydantic, Powertools and epay from source; processes run with `-B` so nothing gets cached;
- "precompiled": the same files plus `compileall --invalidation-mode unchecked-hash` bytecode.

The floor of a function is a fresh process importing only boto3, pydantic and the Powertools modules that function
uses (all three use the HTTP resolver with validation and the logger; create_payment and gateway_callback also
publish metrics; create_payment uses Powertools idempotency). A second pair of measurements adds what the first
request builds (`epay.runtime`'s client and use case) to the handler, and a DynamoDB client to the floor, so a cost
moved from import to first use is still counted. Each series is the median of `reps` processes, all series
interleaved in a shuffled order per round; the verdict uses CPU time (import is single-threaded CPU work, and CPU
time is what other load on a shared machine disturbs least), wall time is shown beside it.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import FUNCTIONS, INFO, ROOT, Section, bench_environment, median, ms, progress, times, verdict

TITLE = "1. Cold start (fresh process per measurement)"
TARGET = 1.2
_RESOLVER = [
    "boto3",
    "pydantic",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.event_handler.openapi.params",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.utilities.typing",
]
FLOORS = {
    "list_invoices": _RESOLVER,
    "create_payment": [*_RESOLVER, "aws_lambda_powertools.metrics", "aws_lambda_powertools.utilities.idempotency"],
    "gateway_callback": [*_RESOLVER, "aws_lambda_powertools.metrics"],
}
FIRST_USE = {
    "list_invoices": "runtime.invoice_lookup()",
    "create_payment": "runtime.payment_service(); runtime.idempotency()",
    "gateway_callback": "runtime.callback_service()",
}
CLIENT = (
    "from botocore.config import Config; boto3.client('dynamodb', config=Config(connect_timeout=2, read_timeout=5,"
    " retries={'max_attempts': 3, 'mode': 'standard'}, tcp_keepalive=True))"
)
# What each function imports but none of its routes needs (the other functions' use cases).
UNNEEDED = {
    "list_invoices": ("epay.callbacks", "epay.payment_service", "epay.idempotency", "epay.gateways", "epay.payments"),
    "create_payment": ("epay.callbacks", "epay.lookup"),
    "gateway_callback": ("epay.lookup", "epay.idempotency", "epay.cursor"),
}
_CHILD = """import sys, time
sys.path[:0] = {paths!r}
wall, cpu = time.perf_counter(), time.process_time()
{statement}
print(time.perf_counter() - wall, time.process_time() - cpu)
"""


@dataclass(frozen=True)
class Series:
    function: str
    layer: str  # "as built" | "precompiled"
    what: str  # "handler" | "floor" | "handler + first use" | "floor + client"

    def statement(self) -> str:
        imports = "import " + ", ".join(FLOORS[self.function])
        if self.what == "floor":
            return imports
        if self.what == "floor + client":
            return f"{imports}; {CLIENT}"
        handler = f"import {self.function}_handler"
        if self.what == "handler":
            return handler
        return f"{handler}; from epay import runtime; {FIRST_USE[self.function]}"

    def paths(self, layers: dict[str, Path]) -> list[str]:
        paths = [str(layers[self.layer])]
        if self.what.startswith("handler"):
            paths.insert(0, str(layers["functions"] / self.function))
        return paths


def _environment() -> dict[str, str]:
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    return {**keep, **bench_environment()}


def _run(series: Series, layers: dict[str, Path], extra: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    code = _CHILD.format(paths=series.paths(layers), statement=series.statement())
    return subprocess.run(
        [sys.executable, "-B", "-s", *(extra or []), "-c", code],
        env=_environment(),
        capture_output=True,
        text=True,
        check=True,
    )


def assemble_layers(built_python: Path | None, work: Path) -> tuple[dict[str, Path], list[str]]:
    """The layer as built (no bytecode) and precompiled, from the built layer's package list; notes on versions."""
    site = Path(sysconfig.get_paths()["purelib"])
    notes: list[str] = []
    if built_python is not None and built_python.is_dir():
        names = [
            entry.name
            for entry in built_python.iterdir()
            if not entry.name.endswith((".dist-info", ".data")) and entry.name != "requirements.txt"
        ]
        for dist in built_python.glob("*.dist-info"):
            if not (site / dist.name).exists():
                notes.append(f"version differs from the venv: {dist.name}")
    else:
        names = ["annotated_types", "aws_lambda_powertools", "epay", "jmespath", "pydantic", "pydantic_core"]
        names += ["typing_extensions.py", "typing_inspection"]
        notes.append("no built layer: package list taken from layers/common/requirements.txt's dependencies")
    built = work / "as-built"
    for name in names:
        source = (built_python / name) if name == "epay" and built_python else site / name
        if name == "epay" and not source.exists():
            source = ROOT / "layers" / "common" / "epay"
        target = built / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            built.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    functions = work / "functions"  # copied without any __pycache__ (-B stops writing bytecode, not reading it)
    for function in FUNCTIONS:
        shutil.copytree(ROOT / "functions" / function, functions / function, ignore=shutil.ignore_patterns("__py*"))
    compiled = work / "precompiled"
    shutil.copytree(built, compiled)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(compiled)],
        check=True,
        capture_output=True,
    )
    return {"as built": built, "precompiled": compiled, "functions": functions}, notes


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def importtime(series: Series, layers: dict[str, Path]) -> dict[str, tuple[int, int]]:
    """`-X importtime` of one series: module -> (self µs, cumulative µs)."""
    found: dict[str, tuple[int, int]] = {}
    for line in _run(series, layers, ["-X", "importtime"]).stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            found[match.group(4)] = (int(match.group(1)), int(match.group(2)))
    return found


def _where_the_time_goes(function: str, layers: dict[str, Path]) -> str:
    handler = importtime(Series(function, "as built", "handler"), layers)
    floor = importtime(Series(function, "as built", "floor"), layers)
    extra = {name: value for name, value in handler.items() if name not in floor}
    extra_self = sum(value[0] for value in extra.values())
    largest = sorted(extra.items(), key=lambda item: item[1][0], reverse=True)[:8]
    ours = sorted(name for name in handler if name == "epay" or name.startswith("epay."))
    unneeded_roots = [(name, handler[name][1]) for name in UNNEEDED[function] if name in handler]
    third_party = sorted(
        {name.split(".")[0] for name in extra if not name.startswith("epay") and "_handler" not in name}
    )
    return (
        f"**{function}** (layer as built, `-X importtime`): {len(extra)} modules beyond the floor, "
        f"{extra_self / 1000:.0f} ms of self time. Largest: "
        + ", ".join(f"`{name}` {value[0] / 1000:.1f} ms" for name, value in largest)
        + f". It imports {len(ours)} epay modules; those no route of this function needs, with everything first "
        "imported under them (cumulative): "
        + (", ".join(f"`{name}` {cumulative / 1000:.0f} ms" for name, cumulative in unneeded_roots) or "none")
        + ". Packages beyond the floor: "
        + (", ".join(f"`{name}`" for name in third_party) or "none")
        + "."
    )


def measure(built_python: Path | None, work: Path, reps: int = 11) -> Section:
    section = Section(TITLE)
    layers, notes = assemble_layers(built_python, work)
    for directory in (layers["as built"], layers["precompiled"]):
        code = (
            f"import sys; sys.path[:0] = [{str(directory)!r}]; import epay, pydantic; "
            "print(epay.__file__, pydantic.__file__)"
        )
        found = subprocess.run(
            [sys.executable, "-B", "-s", "-c", code], env=_environment(), capture_output=True, text=True, check=True
        ).stdout
        if found.count(str(directory)) != 2:
            raise AssertionError(f"a fresh process imported the layer's packages from elsewhere: {found}")
    series = [
        Series(function, layer, what)
        for function in FUNCTIONS
        for layer, whats in (
            ("as built", ("handler", "floor", "handler + first use", "floor + client")),
            ("precompiled", ("handler", "floor")),
        )
        for what in whats
    ]
    results: dict[Series, list[tuple[float, float]]] = {item: [] for item in series}
    for round_number in range(reps):
        order = list(series)
        random.Random(round_number).shuffle(order)
        for item in order:
            wall, cpu = (float(value) for value in _run(item, layers).stdout.split()[-2:])
            results[item].append((wall, cpu))
        progress(f"cold start: round {round_number + 1}/{reps} ({len(series)} fresh processes)")

    def stats(function: str, layer: str, what: str) -> tuple[float, float]:
        values = results[Series(function, layer, what)]
        return median([cpu for _, cpu in values]), median([wall for wall, _ in values])

    for function in FUNCTIONS:
        for layer, what, base, label in (
            ("as built", "handler", "floor", "import"),
            ("precompiled", "handler", "floor", "import"),
            ("as built", "handler + first use", "floor + client", "import + first use (client, use case)"),
        ):
            (cpu, wall), (floor_cpu, floor_wall) = stats(function, layer, what), stats(function, layer, base)
            ratio = cpu / floor_cpu
            section.add(
                f"{function}: {label}, layer {layer}",
                f"≤ {TARGET}x floor",
                f"{ms(cpu)} vs floor {ms(floor_cpu)} CPU = {times(ratio)} (wall {ms(wall)} vs {ms(floor_wall)})",
                verdict(ratio <= TARGET),
            )
        built_cpu, _ = stats(function, "as built", "handler")
        compiled_cpu, _ = stats(function, "precompiled", "handler")
        section.add(
            f"{function}: handler import, layer as built vs precompiled",
            "-",
            f"{ms(built_cpu)} vs {ms(compiled_cpu)} CPU: bytecode compilation is {ms(built_cpu - compiled_cpu)} "
            "of every cold start",
            INFO,
        )
    progress("cold start: -X importtime")
    section.details += [_where_the_time_goes(function, layers) for function in FUNCTIONS]
    section.details += notes
    section.data["results"] = results
    return section
