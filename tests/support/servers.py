"""Start real processes for end-to-end tests: `epay serve` and a standalone moto server, on free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.leaks import LOG_DIR, SERVE_SECRETS

ROOT = Path(__file__).resolve().parents[2]
EPAY = Path(sys.executable).with_name("epay")
MOTO = Path(sys.executable).with_name("moto_server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Output:
    """Reads a child's stdout as it comes, keeping the last lines.

    The servers log a line per request: a pipe that nobody reads fills up (64 KiB) and then blocks the server.
    """

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._lines: deque[bytes] = deque(maxlen=500)
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        # Every line is also kept for the session's secret scan (tests/support/leaks.py).
        self._log = (LOG_DIR / f"process-{process.pid}.log").open("ab")
        self._thread = threading.Thread(target=self._drain, args=(process,), daemon=True)
        self._thread.start()

    def _drain(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._lines.append(line)
            self._log.write(line)
        self._log.close()

    def text(self) -> str:
        self._thread.join(timeout=5)
        return b"".join(self._lines).decode(errors="replace")


def _wait_until_up(url: str, process: subprocess.Popen[bytes], output: _Output, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}:\n{output.text()}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextmanager
def running(command: list[str], probe_url: str, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = _Output(process)
    try:
        _wait_until_up(probe_url, process, output)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def clean_environment(**extra: str) -> dict[str, str]:
    """The caller's environment without any EPAY_ setting, plus `extra`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("EPAY_")}
    env.update(extra)
    return env


@contextmanager
def epay_serve(*arguments: str, **environment: str) -> Iterator[str]:
    """`epay serve` on a free port; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(EPAY), "serve", "--port", str(port), *arguments]
    with running(command, f"{base}/v1/openapi.json", clean_environment(**{**SERVE_SECRETS, **environment})):
        yield base


@contextmanager
def moto_server() -> Iterator[str]:
    """A standalone moto server (an 'existing DynamoDB endpoint'); yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running([str(MOTO), "-H", "127.0.0.1", "-p", str(port)], f"{url}/moto-api/", clean_environment()):
        yield url
