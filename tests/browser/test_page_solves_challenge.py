"""The page meets the lookup challenge (api.md §8) and carries on without the payer doing anything.

The real server path: `epay serve --demo` with a miss budget of 2 and small challenges; the page's
third lookup after two misses is answered `429 CHALLENGE_REQUIRED`, the page solves the challenge with ALTCHA's
vendored solver in Web Workers (saying « Vérification de sécurité en cours… ») and sends the search again with its
proof. Also under the page's CSP without 'unsafe-inline' (the published release, as test_deployed_page.py serves
it), and with axe-core on the screen shown while the challenge is solved.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import SERVER_ENV
from tests.browser.test_deployed_page import as_the_bucket
from tests.support.a11y import assert_no_axe_violation
from tests.support.browser import on_screen, search
from tests.support.servers import epay_serve

pytestmark = pytest.mark.browser

MISSES = 2
# What the payer reads while the page solves, in each language (web/i18n.js, "busy.challenge").
SOLVING = "Vérification de sécurité en cours…"

# Every busy line's and the announcer's texts, as they change: the challenge's message may show for a few dozen ms.
RECORD_TEXTS = """
window.__texts = [];
new MutationObserver(() => {
  for (const node of document.querySelectorAll("[data-busy], #announcer")) {
    if (node.textContent) window.__texts.push(node.textContent);
  }
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    # Every test of the module is the same address (127.0.0.1), and each proof it redeems doubles the next challenge
    # of the hour: the smallest first size keeps the module's later challenges small (`make bench` times the real one).
    env = {
        **SERVER_ENV,
        "EPAY_LOOKUP_MISSES_PER_HOUR": str(MISSES),
        "EPAY_LOOKUP_MISSES_PER_PROOF": "1",
        "EPAY_LOOKUP_CHALLENGE_MAX_NUMBER": "1000",
    }
    with epay_serve("--demo", **env) as url:
        yield url


def spend_the_misses(page: Page) -> None:
    for code in ("ZZ91", "NUL0")[:MISSES]:
        search(page, code)
        on_screen(page, "empty")


def search_posts(page: Page) -> list[dict]:
    posts: list[dict] = []
    page.on(
        "request",
        lambda request: (
            posts.append(request.post_data_json)
            if request.url.endswith("/v1/invoices/search") and request.method == "POST"
            else None
        ),
    )
    return posts


def test_a_challenged_search_is_solved_and_sent_again_without_the_payer_doing_anything(page: Page):
    page.add_init_script(RECORD_TEXTS)
    posts = search_posts(page)
    spend_the_misses(page)
    started = time.monotonic()
    search(page, "AB12")
    results = on_screen(page, "results")
    took = time.monotonic() - started
    expect(results.locator("tr.invoice-row")).to_have_count(3)
    assert SOLVING in page.evaluate("window.__texts")
    challenged = [post for post in posts if post.get("subscription_code") == "AB12"]
    assert "proof" not in challenged[0]
    assert any("proof" in post for post in challenged[1:])
    print(f"challenged search to results: {took:.2f} s (solve included)")


def test_the_solving_screen_has_no_axe_violation_and_the_results_none_either(page: Page):
    spend_the_misses(page)
    # Hold the resent search until axe has looked at the page as it is while the challenge is solved and sent.
    held: list = []

    def hold_proof(route):
        if "proof" in (route.request.post_data_json or {}):
            held.append(route)
        else:
            route.continue_()

    page.route("**/v1/invoices/search", hold_proof)
    search(page, "AB12")
    expect(page.locator("[data-screen=search] [data-busy]")).to_have_text(SOLVING)
    assert_no_axe_violation(page, "the lookup challenge being solved (fr)")
    while not held:
        page.wait_for_timeout(50)
    held[0].continue_()
    on_screen(page, "results")
    assert_no_axe_violation(page, "the results after a challenge (fr)")


def test_the_published_page_solves_the_challenge_under_its_csp(page: Page):
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.append(message.text)

    page.on("console", watch)
    page.route("**/*", as_the_bucket)
    spend_the_misses(page)
    search(page, "AB12")
    expect(on_screen(page, "results").locator("tr.invoice-row")).to_have_count(3)
    assert violations == []
