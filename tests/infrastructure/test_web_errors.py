"""web/js/errors.js: the page's French for every error code and gateway reason is the catalogue's, never retyped."""

from __future__ import annotations

import pytest

from epay.error_catalogue import CATALOGUE, REASONS
from epay_local.web_errors import ERRORS_PATH, render_errors

pytestmark = pytest.mark.infrastructure


def test_the_committed_page_errors_match_the_catalogue():
    assert ERRORS_PATH.read_text(encoding="utf-8") == render_errors(), "run `make openapi` and commit web/js/errors.js"


def test_the_page_gets_the_french_of_every_code_a_payer_can_meet_and_of_every_reason():
    rendered = render_errors()
    for code, spec in CATALOGUE.items():
        assert (f"  {code}: " in rendered) == spec.payer_facing, code
    for reason in REASONS:
        assert f"  {reason}: " in rendered, reason
