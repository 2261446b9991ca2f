"""Hook implementations of the generic platform (Standard Webhooks, canonical events)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from core import hookimpl
from core.context import ParsedDelivery, PlatformInfo, WriteBack
from core.operations import OperationKind
from core.schemas import read_json_object
from plugins.generic import outbound, signature
from plugins.generic.events import STATUS_MAP, read_event

NAME = "generic"


@hookimpl
def declare_platform() -> PlatformInfo:
    return PlatformInfo(name=NAME, capabilities=frozenset(OperationKind), status_map=STATUS_MAP,
                        new_secret=signature.new_secret, check_secret=signature.check_secret)


@hookimpl
def verify_delivery(platform: str, body: bytes, headers: Mapping[str, str],
                    secrets: Sequence[str]) -> bool | None:
    if platform != NAME:
        return None
    signature.verify(body, headers, secrets)
    return True


@hookimpl
def parse_delivery(platform: str, shop: str, body: bytes,
                   headers: Mapping[str, str]) -> ParsedDelivery | None:
    if platform != NAME:
        return None
    event_type, snapshot = read_event(read_json_object(body), shop)
    key = headers.get("webhook-id") or hashlib.sha256(body).hexdigest()
    return ParsedDelivery(key[:64], event_type, snapshot.order_id, (snapshot,))


@hookimpl
def write_back(platform: str, writeback: WriteBack, settings: Mapping[str, Any]) -> str | None:
    if platform != NAME:
        return None
    return outbound.send(settings, writeback)
