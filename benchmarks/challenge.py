"""The lookup challenge (api.md §8): what it costs the server, a payer's browser and an attacker's CPU.

- Server: CPU (`time.process_time`) to issue one challenge (`LookupChallenge.issue`: ALTCHA's `create_challenge`,
  one SHA-256 and one HMAC) and to verify one proof (`redeem` without its DynamoDB put: base64, JSON, one SHA-256,
  one HMAC), in this process, over an in-memory ledger.
- Browser: Debian's Chromium (Playwright), the page's own module (web/js/challenge.js, ALTCHA's vendored solver in
  Web Workers) on challenges of the configured size (`EPAY_LOOKUP_CHALLENGE_MAX_NUMBER`, default), wall time from
  the call to the proof; with the page's worker count (min(4, cores)) and with one worker (a slow phone's share).
- Native solver: ALTCHA's Python library (`solve_challenge_v1`, hashlib's OpenSSL SHA-256), one core: what an
  attacker's script pays per proof, the figure docs/reliability.md's enumeration arithmetic uses.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from benchmarks.common import INFO, ROOT, Section, ms, verdict

TITLE = "7. The lookup challenge: server CPU to issue and verify, time to solve (browser, native)"
KEY = b"bench-challenge-key-0123456789abcdef"
NOW = 1_795_773_600
WEB = ROOT / "web"
ORIGIN = "http://bench.localhost"
PAGE = "the page's workers"
TYPES = {".js": "text/javascript", ".html": "text/html", ".mjs": "text/javascript"}


class _Ledger:
    def __init__(self) -> None:
        self.keys: set[str] = set()

    def claim_once(self, key: str, expires_at: int) -> bool:
        if key in self.keys:
            return False
        self.keys.add(key)
        return True


def _max_number() -> int:
    from epay.config import LookupSettings

    return int(LookupSettings.model_fields["lookup_challenge_max_number"].default)


def _server(count: int) -> tuple[float, float]:
    from altcha.v1 import Payload, solve_challenge

    from epay.challenge import LookupChallenge

    service = LookupChallenge(KEY, _Ledger(), 1000, 600)
    started = time.process_time()
    made = [service.issue(NOW) for _ in range(count)]
    issue = (time.process_time() - started) / count
    proofs = []
    for challenge in made:
        solution = solve_challenge(challenge["challenge"], challenge["salt"], "SHA-256", challenge["maxNumber"])
        assert solution is not None
        payload = Payload("SHA-256", challenge["challenge"], solution.number, challenge["salt"], challenge["signature"])
        proofs.append(payload.to_base64())
    started = time.process_time()
    accepted = sum(service.redeem(proof, NOW) for proof in proofs)
    verify = (time.process_time() - started) / count
    assert accepted == count
    return issue, verify


def _native(max_number: int, reps: int) -> tuple[list[float], float]:
    """ALTCHA's Python solver on one core: seconds per challenge of this size, and its hashes per second (from a
    challenge whose answer is `maxNumber` itself: a full sweep, no luck in it)."""
    from altcha.v1 import ChallengeOptions, create_challenge, solve_challenge

    from epay.challenge import LookupChallenge

    service = LookupChallenge(KEY, _Ledger(), max_number, 600)
    seconds = []
    for _ in range(reps):
        challenge = service.issue(NOW)
        started = time.process_time()
        solve_challenge(challenge["challenge"], challenge["salt"], "SHA-256", max_number)
        seconds.append(time.process_time() - started)
    full = create_challenge(ChallengeOptions(max_number=max_number, number=max_number, hmac_key=KEY))
    started = time.process_time()
    solve_challenge(full)
    rate = (max_number + 1) / (time.process_time() - started)
    return seconds, rate


def _serve(route: Any) -> None:
    path = route.request.url.removeprefix(ORIGIN).split("?")[0]
    if path == "/bench.html":
        route.fulfill(status=200, body="<!doctype html><title>bench</title>", content_type="text/html")
        return
    file = (WEB / path.lstrip("/")).resolve()
    if WEB not in file.parents or not file.is_file():
        route.fulfill(status=404, body="")
        return
    route.fulfill(status=200, body=file.read_bytes(), content_type=TYPES.get(file.suffix, "application/octet-stream"))


def _browser(challenges: list[dict[str, Any]]) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS, chromium_path

    found: dict[str, list[float]] = {PAGE: [], "one worker": []}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route(f"{ORIGIN}/**", _serve)
            page.goto(f"{ORIGIN}/bench.html")
            workers = page.evaluate("Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1))")
            for challenge in challenges:
                for label, count in ((PAGE, workers), ("one worker", 1)):
                    took = page.evaluate(
                        """async ([challenge, count]) => {
                          Object.defineProperty(navigator, "hardwareConcurrency", { value: count, configurable: true });
                          const { solve } = await import("/js/challenge.js");
                          const started = performance.now();
                          const proof = await solve(challenge);
                          if (!proof) throw new Error("not solved");
                          return (performance.now() - started) / 1000;
                        }""",
                        [challenge, count],
                    )
                    found[label].append(float(took))
            found["workers"] = [float(workers)]
        finally:
            browser.close()
    return found


def measure(reps: int = 5) -> Section:
    from epay.challenge import LookupChallenge

    section = Section(TITLE)
    max_number = _max_number()
    issue, verify = _server(200)
    section.add("server CPU to issue a challenge", "<= 1 ms", ms(issue), verdict(issue <= 0.001))
    section.add(
        "server CPU to verify a proof (before its DynamoDB put)", "<= 1 ms", ms(verify), verdict(verify <= 0.001)
    )
    native, rate = _native(max_number, max(reps, 5))
    expected = max_number / 2 / rate
    section.add(
        f"native solve, one core (ALTCHA's Python library, maxNumber {max_number:,})",
        "-",
        f"{rate / 1e6:.2f} M hashes/s; {expected * 1000:.0f} ms expected per challenge",
        INFO,
        note=f"median of {len(native)} random challenges {statistics.median(native) * 1000:.0f} ms",
    )
    service = LookupChallenge(KEY, _Ledger(), max_number, 600)
    challenges = [service.issue(NOW) for _ in range(max(reps, 5))]
    try:
        found = _browser(challenges)
    except Exception as error:  # no Chromium: the server figures still stand
        section.add("browser solve (Chromium)", "<= 3 s median", f"not measured: {type(error).__name__}", INFO)
        return section
    workers = int(found["workers"][0])
    page_median = statistics.median(found[PAGE])
    one_median = statistics.median(found["one worker"])
    section.add(
        f"browser solve, the page's {workers} worker(s) (Chromium, this machine)",
        "<= 3 s median",
        f"{page_median:.2f} s median, {max(found[PAGE]):.2f} s worst of {len(challenges)}",
        verdict(page_median <= 3),
    )
    section.add(
        "browser solve, one worker (a slow phone's share)",
        "-",
        f"{one_median:.2f} s median, {max(found['one worker']):.2f} s worst of {len(challenges)}",
        INFO,
    )
    section.data = {
        "issue_s": issue,
        "verify_s": verify,
        "native_rate": rate,
        "native_expected_s": expected,
        "browser_s": page_median,
        "browser_one_s": one_median,
        "max_number": max_number,
    }
    section.details = [
        "Raw figures (seconds): " + json.dumps({"native": native, **found}, default=lambda value: round(value, 3)),
    ]
    return section


if __name__ == "__main__":
    from benchmarks.common import apply_environment

    apply_environment()
    result = measure()
    for figure in result.figures:
        print(f"{figure.name}: {figure.measured} {figure.note} [{figure.verdict}]")
