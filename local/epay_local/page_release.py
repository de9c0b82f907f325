"""Publishing the page (`make deploy`, `epay publish-page`): web/ as a release the browser may keep for a year.

Every file of web/ but index.html goes under `assets/<release>/`, where `<release>` is a digest of all of them (the
config.js written for the stage included): a changed file is a new release, so its files can be cached a year and
never asked for again (`immutable`). index.html, at the root, names that release's files; it is `no-cache`, so every
visit asks whether it changed (a 304 when it did not) and a new release reaches every payer at their next visit.
Relative module imports (`./js/...`, `../i18n.js`) need no rewriting: the whole tree moves together. Old releases
are left in the bucket (a page opened before a deployment still loads its files; about 110 kB each).

Pure but for `publish`, which is handed its S3 and CloudFront clients; nothing here runs in the tests against AWS.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from epay_local.template import PROJECT_ROOT

WEB_DIR = PROJECT_ROOT / "web"
SAMCONFIG = PROJECT_ROOT / "samconfig.toml"
ASSETS = "assets"
INDEX = "index.html"
CONFIG = "config.js"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# What the page is made of; any other kind of file is refused rather than served with a guessed type (a module
# served as anything but JavaScript does not run).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
# After a release, these are asked of the origin again at once (index.html is no-cache anyway: this covers a cache
# that kept it nonetheless, say under an older cache policy).
INVALIDATED = ("/", f"/{INDEX}")


class ReleaseError(ValueError):
    """web/ cannot be published as it is."""


@dataclass(frozen=True)
class PageObject:
    """One object written to the page bucket."""

    key: str
    body: bytes
    content_type: str
    cache_control: str


@dataclass(frozen=True)
class Release:
    """A release of the page: its files under `assets/<release_id>/`, then the index.html that names them."""

    release_id: str
    assets: tuple[PageObject, ...]
    index: PageObject

    def objects(self) -> tuple[PageObject, ...]:
        """In upload order: every file before the index.html that names them, so no visitor gets a page whose files
        are missing."""
        return (*self.assets, self.index)


def config_js(api_base_url: str = "") -> str:
    """The page's config.js for a stage: where the API is ("" = the page's own origin, as behind CloudFront)."""
    if api_base_url and not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._/-]*)?", api_base_url):
        raise ReleaseError("the API base must be empty (same origin) or an https:// URL")
    value = api_base_url.rstrip("/")
    return (
        "// Written at deployment (epay publish-page): where the E-Paiement API lives for this stage.\n"
        '// "" = the same origin as this page (CloudFront routes /v1/* to the API).\n'
        f'window.EPAY_CONFIG = {{ apiBaseUrl: "{value}" }};\n'
    )


def content_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in CONTENT_TYPES:
        raise ReleaseError(f"{path}: no content type for {suffix or 'a file without extension'} (page_release.py)")
    return CONTENT_TYPES[suffix]


def page_files(web_dir: Path = WEB_DIR) -> dict[str, bytes]:
    """web/'s files by their path relative to it (hidden files left out)."""
    found = {}
    for path in sorted(web_dir.rglob("*")):
        relative = path.relative_to(web_dir).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in relative.split("/")):
            found[relative] = path.read_bytes()
    if INDEX not in found:
        raise ReleaseError(f"{web_dir} has no {INDEX}")
    return found


def release_id(files: Mapping[str, bytes]) -> str:
    """A digest of every file and its name: the same files give the same release, any change a new one."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(hashlib.sha256(name.encode("utf-8")).digest())
        digest.update(hashlib.sha256(files[name]).digest())
    return digest.hexdigest()[:16]


_REFERENCE = re.compile(r"""(?P<attribute>\b(?:src|href))="(?P<path>[^"]*)\"""")


def rewrite_index(html: str, prefix: str, files: Mapping[str, bytes]) -> str:
    """index.html with every reference to one of the release's files made to point under `prefix`; anything else
    (fragments, query-only links to the page itself such as `?view=verify`, data: and https: URLs, tel: links)
    untouched. A reference to a file of no release is refused."""

    def moved(found: re.Match[str]) -> str:
        path = found["path"]
        if not path or path.startswith(("#", "/", "?")) or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", path):
            return found[0]
        name = path.removeprefix("./")
        if name not in files:
            raise ReleaseError(f"{INDEX} names {path}, which is not in web/")
        return f'{found["attribute"]}="{prefix}{name}"'

    return _REFERENCE.sub(moved, html)


def build_release(web_dir: Path = WEB_DIR, api_base_url: str = "") -> Release:
    """The release of web/ for a stage whose page reaches the API at `api_base_url`."""
    files = page_files(web_dir)
    index_html = files.pop(INDEX).decode("utf-8")
    files[CONFIG] = config_js(api_base_url).encode("utf-8")
    identifier = release_id(files)
    prefix = f"{ASSETS}/{identifier}/"
    assets = tuple(
        PageObject(prefix + name, body, content_type(name), IMMUTABLE) for name, body in sorted(files.items())
    )
    index = PageObject(INDEX, rewrite_index(index_html, prefix, files).encode("utf-8"), content_type(INDEX), REVALIDATE)
    return Release(identifier, assets, index)


# -- the stack --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """What publishing needs of a deployed stack (its outputs and two of its parameters)."""

    bucket: str
    distribution_id: str
    page_url: str
    public_api_url: str
    frontend_url: str

    @classmethod
    def from_stack(cls, stack: Mapping[str, Any]) -> Stage:
        """From `describe-stacks`' description of the stack."""
        outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
        parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])}
        missing = [name for name in ("PageBucketName", "PageDistributionId", "PageUrl") if name not in outputs]
        if missing:
            raise ReleaseError(f"the stack has no output {', '.join(missing)}: deploy template.yaml first")
        return cls(
            bucket=outputs["PageBucketName"],
            distribution_id=outputs["PageDistributionId"],
            page_url=outputs["PageUrl"],
            public_api_url=parameters.get("PublicApiUrl", ""),
            frontend_url=parameters.get("FrontendUrl", ""),
        )

    def address_problems(self) -> list[str]:
        """What is wrong with where the gateways and the browser are sent: every request, a gateway's callback
        included, must come through the distribution, and the functions refuse any other (epay.edge)."""
        page = self.page_url.rstrip("/")
        problems = []
        if self.public_api_url.rstrip("/") != page:
            problems.append(f"PublicApiUrl is {self.public_api_url!r}: it must be the page's address, {page}")
        if self.frontend_url != page + "/":
            problems.append(f"FrontendUrl is {self.frontend_url!r}: it must be {page}/")
        return problems


def stack_of(config_env: str, samconfig: Path = SAMCONFIG) -> tuple[str, str]:
    """The stack name and Region `sam deploy --config-env <config_env>` uses (samconfig.toml)."""
    config = tomllib.loads(samconfig.read_text(encoding="utf-8"))
    if config_env not in config:
        raise ReleaseError(f"samconfig.toml has no [{config_env}] environment")
    sections = config[config_env]
    found: dict[str, str] = {}
    for section in ("global", "deploy"):
        found.update(sections.get(section, {}).get("parameters", {}))
    if "stack_name" not in found or "region" not in found:
        raise ReleaseError(f"samconfig.toml's [{config_env}] names no stack_name or region")
    return found["stack_name"], found["region"]


def publish(release: Release, stage: Stage, s3: Any, cloudfront: Any) -> str:
    """Write the release to the stage's bucket (its files, then index.html) and have the distribution ask for
    index.html again; the invalidation's id."""
    for item in release.objects():
        s3.put_object(
            Bucket=stage.bucket,
            Key=item.key,
            Body=item.body,
            ContentType=item.content_type,
            CacheControl=item.cache_control,
        )
    answer = cloudfront.create_invalidation(
        DistributionId=stage.distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": len(INVALIDATED), "Items": list(INVALIDATED)},
            "CallerReference": f"epay-page-{release.release_id}-{hashlib.sha256(release.index.body).hexdigest()[:8]}",
        },
    )
    return str(answer["Invalidation"]["Id"])
