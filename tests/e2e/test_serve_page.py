"""`epay serve` serves the page as browsers load it: ES modules, no build step, every import a JavaScript file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.servers import ROOT, epay_serve

pytestmark = pytest.mark.e2e

WEB = ROOT / "web"
IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)";""", re.MULTILINE | re.DOTALL)
WORKER_URL = re.compile(r"""new URL\(\s*["'](\.{1,2}/[^"']+)["']\s*,\s*import\.meta\.url\s*\)""")


def module_graph(entry: Path) -> set[Path]:
    """The entry module and every module it imports, transitively (relative imports only: there is no bundler), and
    every worker script a module starts (`new URL("<relative>", import.meta.url)`: the challenge's solver)."""
    seen: set[Path] = set()
    pending = [entry]
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        source = module.read_text(encoding="utf-8")
        for target in [*IMPORT.findall(source), *WORKER_URL.findall(source)]:
            assert target.startswith(("./", "../")), f"{module.relative_to(WEB)} imports {target}: not a relative path"
            pending.append((module.parent / target).resolve())
    return seen


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with epay_serve() as url:
        yield url


def test_the_page_loads_one_module_entry():
    html = (WEB / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'<script type="module" src="([^"]+)"></script>', html) == ["app.js"]


def test_every_module_of_the_page_is_served_as_javascript(base):
    modules = module_graph((WEB / "app.js").resolve())
    for module in sorted(modules):
        path = module.relative_to(WEB.resolve()).as_posix()
        response = requests.get(f"{base}/{path}", timeout=10)
        assert response.status_code == 200, path
        # Browsers refuse a module served with another type (the static server falls back to index.html).
        assert response.headers["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript"), path
        assert response.content == module.read_bytes(), path


def test_no_module_of_the_page_is_left_unused():
    modules = module_graph((WEB / "app.js").resolve())
    on_disk = {path.resolve() for path in WEB.rglob("*.js")} - {(WEB / "config.js").resolve()}  # a classic script
    assert sorted(path.relative_to(WEB.resolve()).as_posix() for path in on_disk - modules) == []
