"""The gateways the service offers: one registry from which everything that lists them is derived.

Two levels, because some readers run without settings or secrets:
- the specs (`specs()`, `method()`, `pairs()`): names and methods, static, read by the request schema and so by the
  OpenAPI document, and through it by the page's generated method list (`web/js/contract.js`);
- the configured adapters (`GatewayRegistry`, built once per container by `epay.runtime.gateways()`): what the
  payment service sends the payer to, and the callback routes the callback engine serves.

Adding a gateway: docs/architecture.md, "Adding a fourth gateway".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

from epay.gateways.protocol import CallbackRoute, GatewayAdapter, GatewaySpec, MethodSpec

_REGISTERED: dict[str, GatewaySpec] = {}


@cache
def _offered() -> dict[str, GatewaySpec]:
    """The gateways the service offers, in the order the contract lists them."""
    # Imported on first use: the lookup function, which never reads a gateway, does not load the adapters.
    from epay.gateways import cmi, m2t

    return {gateway.name: gateway for gateway in (cmi.SPEC, m2t.SPEC)}


def _specs() -> dict[str, GatewaySpec]:
    return {**_offered(), **_REGISTERED}


def specs() -> tuple[GatewaySpec, ...]:
    """Every gateway offered, in the order the contract lists them."""
    return tuple(_specs().values())


def spec(gateway: str) -> GatewaySpec | None:
    return _specs().get(gateway)


def method(gateway: str, name: str) -> MethodSpec | None:
    """The method `name` of `gateway`, or None when that gateway does not offer it."""
    found = _specs().get(gateway)
    return found.method(name) if found else None


def pairs() -> list[tuple[str, str]]:
    """Every (gateway, method) a payment may use."""
    return [(gateway.name, offered.name) for gateway in _specs().values() for offered in gateway.methods]


def method_names() -> list[str]:
    """Every method name, each once, in first-offered order."""
    return list(dict.fromkeys(name for _, name in pairs()))


@contextmanager
def registered(extra: GatewaySpec) -> Iterator[None]:
    """Offer one more gateway for the duration (tests that plug in a gateway end to end)."""
    if extra.name in _specs():
        raise ValueError(f"gateway {extra.name} is already registered")
    _REGISTERED[extra.name] = extra
    try:
        yield
    finally:
        del _REGISTERED[extra.name]


@dataclass(frozen=True)
class GatewayRegistry:
    """The configured adapters, by gateway name, and their callback routes, by path."""

    adapters: Mapping[str, GatewayAdapter]
    routes: Mapping[str, CallbackRoute] = field(default_factory=dict)

    @classmethod
    def of(cls, *adapters: GatewayAdapter) -> GatewayRegistry:
        routes: dict[str, CallbackRoute] = {}
        for adapter in adapters:
            for route in adapter.routes:
                if route.path in routes:
                    raise ValueError(f"two gateways answer /v1/callbacks/{route.path}")
                routes[route.path] = route
        return cls({adapter.spec.name: adapter for adapter in adapters}, routes)

    def with_adapter(self, adapter: GatewayAdapter) -> GatewayRegistry:
        """This registry and one more adapter."""
        return GatewayRegistry.of(*self.adapters.values(), adapter)

    def adapter(self, gateway: str) -> GatewayAdapter | None:
        return self.adapters.get(gateway)

    def route(self, path: str) -> CallbackRoute | None:
        return self.routes.get(path)
