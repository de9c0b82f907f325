"""The page's modules (web/js/) under node's own test runner: each tests/web/*.test.mjs file is one test here, so
that `make test` runs them and CI reads one pytest summary. `make test-web` runs them without Python."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
FILES = sorted(HERE.glob("*.test.mjs"))


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not installed: run `make node` (Debian's nodejs)", pytrace=False)
    return found


def test_the_page_has_node_tests():
    assert len(FILES) >= 5, FILES


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_page_module(path: Path):
    run = subprocess.run(
        [node(), "--test", "--test-reporter=spec", str(path.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"node --test {path.name} failed:\n{output}"
    passed = re.findall(r"^(?:ℹ|#) pass (\d+)$", output, re.MULTILINE)
    assert passed, f"node --test {path.name} printed no summary:\n{output}"
    assert int(passed[-1]) > 0, f"node --test {path.name} ran no test:\n{output}"
