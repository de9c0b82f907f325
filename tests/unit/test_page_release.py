"""Publishing the page (issue 14, item 11): web/ as a release of files cached a year under their own prefix, an
index.html revalidated at every visit that names them, the stage's config.js, the right content types; written in
an order that never serves an index whose files are missing. AWS is faked: nothing here reaches it."""

from __future__ import annotations

import re

import pytest

from epay_local.cli import main
from epay_local.page_release import (
    IMMUTABLE,
    INVALIDATED,
    REVALIDATE,
    WEB_DIR,
    ReleaseError,
    Stage,
    build_release,
    config_js,
    publish,
    stack_of,
)

INDEX_HTML = """<!doctype html>
<html><head>
<link rel="icon" href="data:image/svg+xml,%3Csvg%3E">
<link rel="stylesheet" href="styles.css">
<script src="config.js"></script>
<script type="module" src="./app.js"></script>
</head><body>
<a href="#main">skip</a><svg><use href="#i-ok"/></svg>
<a href="https://www.portnet.ma/reclamation">help</a> <a href="tel:+212520473100">call</a>
<a href="?view=verify">verify a receipt</a>
</body></html>
"""


@pytest.fixture
def web(tmp_path):
    root = tmp_path / "web"
    (root / "js").mkdir(parents=True)
    (root / "index.html").write_text(INDEX_HTML, encoding="utf-8")
    (root / "styles.css").write_text("body { margin: 0; }\n", encoding="utf-8")
    (root / "config.js").write_text('window.EPAY_CONFIG = { apiBaseUrl: "" };\n', encoding="utf-8")
    (root / "app.js").write_text('import { x } from "./js/x.js";\n', encoding="utf-8")
    (root / "js" / "x.js").write_text("export const x = 1;\n", encoding="utf-8")
    (root / ".DS_Store").write_bytes(b"junk")
    return root


def keys(release):
    return [item.key for item in release.objects()]


def test_every_file_but_index_html_goes_under_the_release_s_own_prefix(web):
    release = build_release(web)
    prefix = f"assets/{release.release_id}/"
    assert keys(release) == [
        prefix + "app.js",
        prefix + "config.js",
        prefix + "js/x.js",
        prefix + "styles.css",
        "index.html",
    ]


def test_index_html_is_written_last_so_it_never_names_a_file_not_yet_there(web):
    assert keys(build_release(web))[-1] == "index.html"


def test_the_release_s_files_are_cached_a_year_and_index_html_is_revalidated_at_every_visit(web):
    release = build_release(web)
    assert {item.cache_control for item in release.assets} == {IMMUTABLE} == {"public, max-age=31536000, immutable"}
    assert release.index.cache_control == REVALIDATE == "no-cache"


def test_each_file_has_its_content_type(web):
    types = {item.key.rsplit("/", 1)[-1]: item.content_type for item in build_release(web).objects()}
    assert types == {
        "app.js": "text/javascript; charset=utf-8",
        "config.js": "text/javascript; charset=utf-8",
        "x.js": "text/javascript; charset=utf-8",
        "styles.css": "text/css; charset=utf-8",
        "index.html": "text/html; charset=utf-8",
    }


def test_index_html_names_the_release_s_files_and_leaves_every_other_link_alone(web):
    release = build_release(web)
    html = release.index.body.decode("utf-8")
    prefix = f"assets/{release.release_id}/"
    assert f'href="{prefix}styles.css"' in html
    assert f'<script src="{prefix}config.js"></script>' in html
    assert f'<script type="module" src="{prefix}app.js"></script>' in html
    for untouched in (
        'href="data:image/svg+xml,%3Csvg%3E"',
        'href="#main"',
        'href="#i-ok"',
        'href="https://www.portnet.ma/reclamation"',
        'href="tel:+212520473100"',
        'href="?view=verify"',
    ):
        assert untouched in html
    assert html.count("assets/") == 3


def test_modules_are_published_unchanged_their_relative_imports_resolve_in_the_release(web):
    app = next(item for item in build_release(web).assets if item.key.endswith("/app.js"))
    assert app.body == (web / "app.js").read_bytes()


def test_config_js_is_the_stage_s_not_the_local_one(web):
    (web / "config.js").write_text('window.EPAY_CONFIG = { apiBaseUrl: "http://127.0.0.1:8080" };\n')
    config = next(item for item in build_release(web).assets if item.key.endswith("/config.js"))
    assert b'window.EPAY_CONFIG = { apiBaseUrl: "" };' in config.body
    assert b"127.0.0.1" not in config.body


def test_config_js_names_an_https_api_base_without_its_trailing_slash():
    assert 'apiBaseUrl: "https://api.example.ma"' in config_js("https://api.example.ma/")
    assert 'apiBaseUrl: ""' in config_js("")
    for refused in ("http://api.example.ma", 'https://x.ma/"; alert(1); "', "javascript:alert(1)"):
        with pytest.raises(ReleaseError):
            config_js(refused)


def test_the_same_files_make_the_same_release_and_any_change_a_new_one(web):
    first = build_release(web).release_id
    assert build_release(web).release_id == first
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    (web / "js" / "x.js").write_text("export const x = 2;\n", encoding="utf-8")
    changed = build_release(web).release_id
    assert changed != first
    assert build_release(web, "https://api.example.ma").release_id != changed, "config.js is part of the release"


def test_index_html_changes_alone_keep_the_release_and_are_revalidated(web):
    first = build_release(web)
    (web / "index.html").write_text(INDEX_HTML.replace("skip", "aller"), encoding="utf-8")
    second = build_release(web)
    assert second.release_id == first.release_id
    assert second.index.body != first.index.body


def test_a_file_of_unknown_kind_is_refused_rather_than_served_with_a_guessed_type(web):
    (web / "notes.md").write_text("# notes\n", encoding="utf-8")
    with pytest.raises(ReleaseError, match=r"notes\.md"):
        build_release(web)


def test_an_index_naming_a_missing_file_is_refused(web):
    (web / "styles.css").unlink()
    with pytest.raises(ReleaseError, match=r"styles\.css"):
        build_release(web)


def test_the_real_page_makes_a_release_with_all_its_modules():
    release = build_release(WEB_DIR)
    prefix = f"assets/{release.release_id}/"
    on_disk = {path.relative_to(WEB_DIR).as_posix() for path in WEB_DIR.rglob("*") if path.is_file()}
    assert set(keys(release)) == {prefix + name for name in on_disk - {"index.html"}} | {"index.html"}
    html = release.index.body.decode("utf-8")
    assert re.findall(r'<script type="module" src="([^"]+)"></script>', html) == [prefix + "app.js"]


# -- writing it -----------------------------------------------------------------------------------------------------

STAGE = Stage(
    bucket="epay-prod-pagebucket-abc",
    distribution_id="E2EXAMPLE123",
    page_url="https://epaiement.portnet.ma",
    public_api_url="https://epaiement.portnet.ma",
    frontend_url="https://epaiement.portnet.ma/",
)


class Recorder:
    def __init__(self):
        self.calls = []

    def put_object(self, **request):
        self.calls.append(("put_object", request))

    def create_invalidation(self, **request):
        self.calls.append(("create_invalidation", request))
        return {"Invalidation": {"Id": "I2EXAMPLE"}}


def test_publishing_writes_every_file_with_its_headers_then_invalidates_index_html(web):
    release = build_release(web)
    s3, cloudfront = Recorder(), Recorder()

    assert publish(release, STAGE, s3, cloudfront) == "I2EXAMPLE"

    assert [request["Key"] for _, request in s3.calls] == keys(release)
    for (_, request), item in zip(s3.calls, release.objects(), strict=True):
        assert request == {
            "Bucket": "epay-prod-pagebucket-abc",
            "Key": item.key,
            "Body": item.body,
            "ContentType": item.content_type,
            "CacheControl": item.cache_control,
        }
    ((_, invalidation),) = cloudfront.calls
    assert invalidation["DistributionId"] == "E2EXAMPLE123"
    assert invalidation["InvalidationBatch"]["Paths"] == {"Quantity": 2, "Items": ["/", "/index.html"]}
    assert list(INVALIDATED) == ["/", "/index.html"]


def described(**parameters):
    return {
        "Outputs": [
            {"OutputKey": "PageBucketName", "OutputValue": STAGE.bucket},
            {"OutputKey": "PageDistributionId", "OutputValue": STAGE.distribution_id},
            {"OutputKey": "PageUrl", "OutputValue": STAGE.page_url},
        ],
        "Parameters": [{"ParameterKey": name, "ParameterValue": value} for name, value in parameters.items()],
    }


def test_the_stage_is_read_from_the_stack_s_outputs_and_parameters():
    stage = Stage.from_stack(described(PublicApiUrl=STAGE.public_api_url, FrontendUrl=STAGE.frontend_url))
    assert stage == STAGE
    assert stage.address_problems() == []


def test_gateways_and_browsers_sent_around_the_distribution_are_reported_before_publishing():
    stage = Stage.from_stack(
        described(PublicApiUrl="https://api.epaiement.portnet.ma", FrontendUrl="https://www.portnet.ma/e-paiement/")
    )
    problems = stage.address_problems()
    assert len(problems) == 2
    assert problems[0].startswith("PublicApiUrl")
    assert problems[1].startswith("FrontendUrl")


def test_a_stack_without_the_page_is_refused():
    with pytest.raises(ReleaseError, match="PageBucketName"):
        Stage.from_stack({"Outputs": [], "Parameters": []})


def test_the_stack_and_region_are_samconfig_s(tmp_path):
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        'version = 0.1\n[prod.global.parameters]\nstack_name = "epay-prod"\n'
        '[prod.deploy.parameters]\nregion = "eu-west-3"\n',
        encoding="utf-8",
    )
    assert stack_of("prod", samconfig) == ("epay-prod", "eu-west-3")
    with pytest.raises(ReleaseError, match=r"\[staging\]"):
        stack_of("staging", samconfig)


def test_the_repository_s_samconfig_names_the_default_stage_s_stack():
    assert stack_of("default") == ("epay-tiers", "eu-west-3")


def test_a_dry_run_prints_what_would_be_written_and_writes_nothing(web, capsys):
    assert main(["publish-page", "--dry-run", "--web-dir", str(web)]) == 0
    out = capsys.readouterr().out
    assert "index.html\ttext/html; charset=utf-8\tno-cache" in out
    assert re.search(r"assets/[0-9a-f]{16}/app\.js\ttext/javascript; charset=utf-8\tpublic, max-age=31536000", out)
    assert "nothing written" in out
