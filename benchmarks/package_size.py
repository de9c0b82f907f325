"""Package size: `sam build` the template, then measure the layer and each function, unzipped and zipped.

Lambda's limit is 250 MB unzipped for a function and all its layers (50 MB zipped for a direct upload). The build
also tells the cold-start benchmark exactly which packages the layer ships, and whether they ship compiled.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from benchmarks.common import INFO, ROOT, Section, progress, verdict

TITLE = "5. Package size (after `sam build`)"
SAM = ROOT / ".venv-sam" / "bin" / "sam"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
LAYER_TARGET = LAMBDA_UNZIPPED_LIMIT // 5
FUNCTION_TARGET = 10 * 1024
BUILT_FUNCTIONS = {
    "list_invoices": "ListInvoicesFunction",
    "create_payment": "CreatePaymentFunction",
    "gateway_callback": "GatewayCallbackFunction",
    "receipt": "ReceiptFunction",
    "mailer": "MailerFunction",
}
# The receipt layer (operations-api.md §7): only the receipt and mailer functions ship it. With the common layer it
# must stay well inside Lambda's 250 MB: a third of it at most (fontTools and Pillow's libraries are most of it).
RECEIPT_LAYER_TARGET = 80 * 1024 * 1024


def build(build_dir: Path) -> None:
    environment = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    completed = subprocess.run(
        [str(SAM), "build", "--build-dir", str(build_dir)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"sam build failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    # As `make sam-build` does: the layer ships its bytecode compiled.
    layer = build_dir / "CommonLayer" / "python"
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(layer)], check=True
    )


def files(path: Path) -> list[Path]:
    return sorted(entry for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink())


def unzipped_size(path: Path) -> int:
    return sum(entry.stat().st_size for entry in files(path))


def zipped_size(path: Path) -> int:
    """The size of the deployment zip (deflate, as `sam package` makes it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in files(path):
            archive.write(entry, entry.relative_to(path))
    return len(buffer.getvalue())


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{size / 1024:.1f} kB"


def measure(build_dir: Path) -> Section:
    section = Section(TITLE)
    build(build_dir)
    progress("package size: sam build done")
    layer = build_dir / "CommonLayer"
    layer_size, layer_zip = unzipped_size(layer), zipped_size(layer)
    section.add(
        "layer CommonLayer (epay + pydantic + Powertools)",
        f"well under Lambda's 250 MB: ≤ {size_text(LAYER_TARGET)} unzipped",
        f"{size_text(layer_size)} unzipped, {size_text(layer_zip)} zipped",
        verdict(layer_size <= LAYER_TARGET),
    )
    largest = 0
    for name, logical_id in BUILT_FUNCTIONS.items():
        function = build_dir / logical_id
        size = unzipped_size(function)
        largest = max(largest, size)
        names = ", ".join(entry.name for entry in files(function))
        section.add(
            f"function {name}",
            f"a few kB of our code (≤ {size_text(FUNCTION_TARGET)})",
            f"{size_text(size)} unzipped, {size_text(zipped_size(function))} zipped ({names})",
            verdict(size <= FUNCTION_TARGET),
        )
    receipt_layer = build_dir / "ReceiptLayer"
    receipt_size = unzipped_size(receipt_layer)
    section.add(
        "layer ReceiptLayer (fpdf2, Pillow, fontTools, uharfbuzz, segno, tzdata, Noto fonts): receipt and mailer only",
        f"≤ {size_text(RECEIPT_LAYER_TARGET)} unzipped, and in no other function's package",
        f"{size_text(receipt_size)} unzipped, {size_text(zipped_size(receipt_layer))} zipped",
        verdict(receipt_size <= RECEIPT_LAYER_TARGET),
    )
    section.add(
        "receipt function + both layers, share of the 250 MB limit",
        "-",
        f"{size_text(receipt_size + layer_size)} = {100 * (receipt_size + layer_size) / LAMBDA_UNZIPPED_LIMIT:.1f} %",
        INFO,
    )
    section.add(
        "largest function + layer, share of the 250 MB limit",
        "-",
        f"{size_text(largest + layer_size)} = {100 * (largest + layer_size) / LAMBDA_UNZIPPED_LIMIT:.1f} %",
        INFO,
    )
    python = layer / "python"
    compiled = [entry for entry in files(python) if entry.suffix == ".pyc"]
    section.add(
        "compiled bytecode (.pyc) shipped in the layer",
        "-",
        f"{len(compiled)} .pyc for {len([e for e in files(python) if e.suffix == '.py'])} .py files",
        INFO,
        "compiled by `make sam-build` after `sam build`, so no cold start compiles the layer (see section 1)"
        if compiled
        else "none: every cold start compiles pydantic, Powertools and epay from source (see section 1)",
    )
    breakdown = sorted(
        ((unzipped_size(entry) if entry.is_dir() else entry.stat().st_size, entry.name) for entry in python.iterdir()),
        reverse=True,
    )
    section.details.append(
        "Layer content (unzipped): "
        + ", ".join(f"`{name}` {size_text(size)}" for size, name in breakdown if size >= 20 * 1024)
        + "; the rest under 20 kB each."
    )
    section.data["layer_python"] = python
    return section
