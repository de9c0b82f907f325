"""Read template.yaml: the routes, the functions' environment and the DynamoDB tables, as the cloud sees them.

The local stack and the tests take all three from here so they cannot drift from what is deployed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short-form intrinsics (`!Ref X` -> `{"Ref": "X"}`)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@cache
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return document


@dataclass(frozen=True)
class Route:
    """One HttpApi event of a function: `METHOD /path/{param}`."""

    method: str
    path: str
    function: str
    code_uri: Path
    handler: str
    pattern: re.Pattern[str] = field(compare=False)

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method and self.method != "ANY":
            return None
        found = self.pattern.match(path)
        return found.groupdict() if found else None


def _path_pattern(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{([A-Za-z_][A-Za-z0-9_]*)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(f"^{regex}$")


def _functions(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource.get("Properties", {})
        for name, resource in document["Resources"].items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def routes(document: dict[str, Any] | None = None) -> list[Route]:
    """Every HttpApi route of every function."""
    document = document or load_template()
    found: list[Route] = []
    for name, properties in _functions(document).items():
        for event in properties.get("Events", {}).values():
            if event.get("Type") != "HttpApi":
                continue
            method = str(event["Properties"]["Method"]).upper()
            path = str(event["Properties"]["Path"])
            found.append(
                Route(
                    method=method,
                    path=path,
                    function=name,
                    code_uri=PROJECT_ROOT / properties["CodeUri"],
                    handler=properties["Handler"],
                    pattern=_path_pattern(path),
                )
            )
    return found


def table_definitions(document: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Each DynamoDB table's CreateTable arguments (keys, attributes, indexes), by logical id."""
    document = document or load_template()
    wanted = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")
    tables: dict[str, dict[str, Any]] = {}
    for name, resource in document["Resources"].items():
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        properties = resource["Properties"]
        definition = {key: properties[key] for key in wanted if key in properties}
        definition["BillingMode"] = "PAY_PER_REQUEST"
        stream = properties.get("StreamSpecification")
        if stream:
            definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        ttl = properties.get("TimeToLiveSpecification")
        if ttl:
            definition["_ttl_attribute"] = ttl["AttributeName"]
        tables[name] = definition
    return tables


def table_environment(document: dict[str, Any] | None = None) -> dict[str, str]:
    """Which environment variable names which table: `{"EPAY_TABLE": "EpayTable", ...}` (from `!Ref`s)."""
    document = document or load_template()
    tables = set(table_definitions(document))
    names: dict[str, str] = {}
    variable_maps = [document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})]
    variable_maps += [p.get("Environment", {}).get("Variables", {}) for p in _functions(document).values()]
    for variables in variable_maps:
        for variable, value in variables.items():
            if isinstance(value, dict) and value.get("Ref") in tables:
                names[variable] = value["Ref"]
    return names


def cors_configuration(document: dict[str, Any] | None = None) -> dict[str, Any]:
    """The HttpApi's CORS settings (the allowed origin is a parameter; the local stack chooses its own)."""
    document = document or load_template()
    for resource in document["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            cors: dict[str, Any] = resource["Properties"].get("CorsConfiguration", {})
            return cors
    return {}


@dataclass(frozen=True)
class StreamConsumer:
    """A function fed by a DynamoDB table's stream (an event source mapping), as template.yaml configures it."""

    function: str
    table: str  # the table's logical id
    code_uri: Path
    handler: str
    filters: tuple[dict[str, Any], ...]
    batch_size: int
    maximum_retry_attempts: int

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


def stream_consumers(document: dict[str, Any] | None = None) -> list[StreamConsumer]:
    """Every `DynamoDB` event of every function: which table's stream, which records (the filter patterns)."""
    import json

    document = document or load_template()
    found: list[StreamConsumer] = []
    for name, properties in _functions(document).items():
        for event in properties.get("Events", {}).values():
            if event.get("Type") != "DynamoDB":
                continue
            spec = event["Properties"]
            filters = spec.get("FilterCriteria", {}).get("Filters", [])
            found.append(
                StreamConsumer(
                    function=name,
                    table=spec["Stream"]["Fn::GetAtt"][0],
                    code_uri=PROJECT_ROOT / properties["CodeUri"],
                    handler=properties["Handler"],
                    filters=tuple(json.loads(item["Pattern"]) for item in filters),
                    batch_size=int(spec.get("BatchSize", 100)),
                    maximum_retry_attempts=int(spec.get("MaximumRetryAttempts", -1)),
                )
            )
    return found
