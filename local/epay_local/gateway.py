"""A local HTTP API: template.yaml's routes served to the real handlers as payload 2.0 events.

Requests are served by concurrent threads, but the handlers run one at a time: Lambda never runs two requests in
one process, and the handlers rely on it (Powertools keeps the current request on a class attribute shared by
every resolver, and the logger's correlation keys and the metrics buffer on process-wide objects). Concurrency that
matters for payments — two requests racing in DynamoDB — is tested with one process per container instead
(tests/support/containers.py).
"""

from __future__ import annotations

import base64
import importlib.util
import itertools
import json
import mimetypes
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from epay import errors
from epay.http import PROBLEM_CONTENT_TYPE, problem_body
from epay_local.template import Route, cors_configuration, routes

_TEXT_TYPES = ("application/json", "text/", "application/problem+json")
_MODULE_SERIAL = itertools.count()


@dataclass
class LambdaContext:
    """What the handlers read of the Lambda context."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:local"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


# One invocation at a time in this process, like one Lambda container (see the module docstring).
_INVOCATION = threading.Lock()


class Deployed(Protocol):
    """What loading a function needs: its code's folder and its handler (a route, or a stream consumer)."""

    @property
    def function(self) -> str: ...

    @property
    def code_uri(self) -> Path: ...

    @property
    def module(self) -> str: ...

    @property
    def attribute(self) -> str: ...


class LocalFunction:
    """One function's handler, loaded once (a warm container), invoked one request at a time."""

    def __init__(self, route: Deployed) -> None:
        self._route = route
        self._handler: Callable[..., Any] | None = None

    def load_module(self) -> ModuleType:
        """A fresh copy of the function's handler module (what a cold start imports)."""
        source = self._route.code_uri / f"{self._route.module}.py"
        if str(self._route.code_uri) not in sys.path:
            sys.path.insert(0, str(self._route.code_uri))
        name = f"_epay_local_{self._route.module}_{next(_MODULE_SERIAL)}"
        spec = importlib.util.spec_from_file_location(name, source)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {source}")
        module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        with _INVOCATION:
            if self._handler is None:
                self._handler = getattr(self.load_module(), self._route.attribute)
            context = LambdaContext(self._route.function, str(uuid.uuid4()))
            result: dict[str, Any] = self._handler(event, context)
            return result


def _header_map(request: Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    return headers


def build_event(request: Request, route: Route, path_parameters: dict[str, str]) -> dict[str, Any]:
    """The API Gateway HTTP API (payload format 2.0) event for a request."""
    raw = request.get_data(cache=False)
    content_type = request.headers.get("Content-Type", "")
    is_text = any(content_type.startswith(kind) for kind in _TEXT_TYPES)
    body: str | None
    encoded = False
    if not raw:
        body = None
    elif is_text:
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(raw).decode("ascii"), True
    else:
        body, encoded = base64.b64encode(raw).decode("ascii"), True
    query = request.query_string.decode("latin-1")
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    now = time.time()
    route_key = f"{route.method} {route.path}"
    headers = _header_map(request)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if request.cookies:
        event["cookies"] = [f"{key}={value}" for key, value in request.cookies.items()]
    if params:
        event["queryStringParameters"] = params
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None:
        event["body"] = body
    return event


def to_response(result: dict[str, Any]) -> Response:
    """A Lambda proxy result (payload 2.0) as an HTTP response."""
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    response = Response(payload, status=int(result.get("statusCode", 200)))
    response.headers.pop("Content-Type", None)
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


class LocalHttpApi:
    """A WSGI app: API routes to the handlers; other paths to extra apps (static page, simulators)."""

    def __init__(
        self,
        allowed_origins: Iterable[str] = (),
        static_dir: Path | None = None,
        mounts: dict[str, Callable[[Request], Response]] | None = None,
    ) -> None:
        self.routes = routes()
        self._functions = {route.function: LocalFunction(route) for route in self.routes}
        self._cors = cors_configuration()
        self._origins = set(allowed_origins)
        self._static_dir = static_dir
        self._mounts = mounts or {}

    def _cors_headers(self, request: Request) -> dict[str, str]:
        origin = request.headers.get("Origin")
        if not origin or origin not in self._origins:
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ",".join(self._cors.get("AllowMethods", ["GET", "POST"])),
            "Access-Control-Allow-Headers": ",".join(self._cors.get("AllowHeaders", ["Content-Type"])),
            "Access-Control-Max-Age": str(self._cors.get("MaxAge", 600)),
            "Access-Control-Expose-Headers": ",".join(self._cors.get("ExposeHeaders", [])),
            "Vary": "Origin",
        }

    def dispatch(self, request: Request) -> Response:
        for prefix, app in self._mounts.items():
            if request.path.startswith(prefix):
                return app(request)
        path_known = False
        for route in self.routes:
            params = route.match(request.method, request.path)
            if params is not None:
                result = self._functions[route.function].invoke(build_event(request, route, params))
                response = to_response(result)
                response.headers.update(self._cors_headers(request))
                return response
            path_known = path_known or route.pattern.match(request.path) is not None
        if request.method == "OPTIONS" and path_known:
            return Response(status=204, headers=self._cors_headers(request))
        is_api = request.path.startswith("/v1/")
        if request.method in ("GET", "HEAD") and self._static_dir is not None and not is_api:
            return self._static(request.path)
        error = errors.method_not_allowed() if path_known else errors.not_found()
        allowed = sorted({route.method for route in self.routes if route.pattern.match(request.path)})
        return Response(
            json.dumps(problem_body(error), ensure_ascii=False),
            status=error.status,
            content_type=PROBLEM_CONTENT_TYPE,
            headers={"Allow": ", ".join([*allowed, "OPTIONS"])} if path_known else {},
        )

    def _static(self, path: str) -> Response:
        assert self._static_dir is not None
        relative = path.lstrip("/") or "index.html"
        target = (self._static_dir / relative).resolve()
        if not target.is_relative_to(self._static_dir.resolve()) or not target.is_file():
            target = self._static_dir / "index.html"
            if not target.is_file():
                return Response("Not found", status=404, content_type="text/plain")
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
            content_type += "; charset=utf-8"
        return Response(target.read_bytes(), content_type=content_type, headers={"Cache-Control": "no-cache"})

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)
