"""The page as CloudFront serves it (issue 14, item 11): the release `epay publish-page` writes — every file under
`assets/<release>/`, index.html naming them — with the content types, cache headers and security headers of
template.yaml (the CSP without 'unsafe-inline'), a payer's whole card journey, and not one CSP violation.

The browser's requests for the page are answered from the release as the bucket would (Playwright's routing); the
API and the gateway simulators are `epay serve`'s, on the same origin, as /v1/* is behind the distribution. The CSP is
template.yaml's but for what only https has: `upgrade-insecure-requests` (the test server is http) and the gateways'
hosts (locally the simulators are the page's own origin, 'self').
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, Route, expect

from epay_local.page_release import IMMUTABLE, REVALIDATE, build_release
from epay_local.template import load_template
from tests.support.browser import on_screen, pay_button, pay_form, search

pytestmark = pytest.mark.browser

RELEASE = build_release()
OBJECTS = {item.key: item for item in RELEASE.objects()}
PAGE_HEADERS = load_template()["Resources"]["PageResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]


def local_csp() -> str:
    policy = PAGE_HEADERS["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"][0]
    directives = [part.strip() for part in " ".join(policy.split()).split(";")]
    directives = [part for part in directives if part != "upgrade-insecure-requests"]
    return "; ".join(re.sub(r" https://\$\{\w+\}", "", part) for part in directives)


CSP = local_csp()
CUSTOM_HEADERS = {item["Header"]: item["Value"] for item in PAGE_HEADERS["CustomHeadersConfig"]["Items"]}


def as_the_bucket(route: Route) -> None:
    path = urlsplit(route.request.url).path
    if path.startswith(("/v1/", "/_sim/")):
        route.continue_()
        return
    item = OBJECTS.get("index.html" if path == "/" else path.lstrip("/"))
    if item is None:
        route.fulfill(status=403, body="AccessDenied", content_type="application/xml")
        return
    route.fulfill(
        status=200,
        body=item.body,
        headers={
            "Content-Type": item.content_type,
            "Cache-Control": item.cache_control,
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            **CUSTOM_HEADERS,
        },
    )


@pytest.fixture
def deployed(page: Page) -> tuple[Page, list[str]]:
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.append(message.text)

    page.on("console", watch)
    page.route("**/*", as_the_bucket)
    return page, violations


def test_the_published_page_loads_its_release_under_its_csp(deployed):
    page, violations = deployed
    loaded: dict[str, str] = {}
    page.on("response", lambda response: loaded.__setitem__(urlsplit(response.url).path, response.status))
    page.goto("/")
    on_screen(page, "search")
    prefix = f"/assets/{RELEASE.release_id}/"
    assert {"/", prefix + "app.js", prefix + "config.js", prefix + "styles.css", prefix + "i18n.js"} <= set(loaded)
    assert all(status == 200 for status in loaded.values()), loaded
    # The styles applied (a style-src 'self' file, not an inline one): the header is laid out, not raw.
    assert page.locator(".site-header").evaluate("element => getComputedStyle(element).display") != "inline"
    assert violations == []


def test_a_card_payment_goes_through_under_the_page_s_csp(deployed):
    page, violations = deployed
    search(page, "AB12")
    results = on_screen(page, "results")
    results.get_by_role("checkbox", name="F-2026-000123", exact=True).check()
    results.get_by_role("button", name="Régler Factures").click()
    pay_form(page, "CMI", "Carte bancaire")
    pay_button(page).click()

    # The gateway's form is posted (form-action): here the CMI simulator, on the page's origin.
    expect(page).to_have_url(re.compile(r"/_sim/cmi/est3Dgate$"))
    page.get_by_role("button", name="Payer", exact=True).click()

    expect(page).to_have_url(re.compile(r"/\?payment=[A-Za-z0-9-]+$"))
    # Playwright does not route the page a redirect leads to (the return's 303): `epay serve` answered it with
    # web/ as it is. The payer's landing address, loaded again, is the release's.
    page.goto(page.url)
    on_screen(page, "receipt")
    assert violations == []


def test_the_release_s_files_are_immutable_and_index_html_is_revalidated():
    assert OBJECTS["index.html"].cache_control == REVALIDATE
    assert {item.cache_control for key, item in OBJECTS.items() if key != "index.html"} == {IMMUTABLE}
