"""How Shopware's Admin API answers: content negotiation, the JSON and JSON:API shapes of a
search, and its error bodies."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from shopware_standin.schema import ASSOCIATIONS, AUTOLOADED

JSON, JSON_API = "application/json", "application/vnd.api+json"


def state_id(machine: str, name: str) -> str:
    """A stable 32-hex id for a state (Shopware's are random UUIDs)."""
    return hashlib.md5(f"{machine}:{name}".encode()).hexdigest()


def negotiate(accept: str | None) -> str | None:
    """The response type of an Admin API call (Api/Response/ResponseFactoryRegistry.php
    ``getType``): the acceptable types in order (Symfony sorts by q); ``*/*`` appends
    ``application/vnd.api+json`` (DEFAULT_RESPONSE_TYPE) for the Admin API; the first type a
    factory supports wins (Type/Api/JsonType.php: ``application/json``; JsonApiType.php:
    ``application/vnd.api+json``). ``None``: UnsupportedMediaTypeHttpException (415), also
    when no Accept header is sent at all."""
    types = []
    for i, part in enumerate((accept or "").split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        if not media:
            continue
        q = next((float(p[2:]) for p in params if p.startswith("q=")), 1.0)
        types.append((-q, i, media))
    ordered = [media for _, _, media in sorted(types)]
    if "*/*" in ordered:
        ordered.append(JSON_API)
    return next((t for t in ordered if t in (JSON, JSON_API)), None)


def error(status: int, code: str, detail: str, parameters: dict[str, Any] | None = None,
          title: str | None = None) -> dict[str, Any]:
    """The body Api/EventListener/ErrorResponseFactory.php makes of a ShopwareHttpException
    (ShopwareHttpException::getCommonErrorData)."""
    titles = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              415: "Unsupported Media Type"}
    return {"errors": [{"status": str(status), "code": code,
                        "title": title or titles.get(status, "unknown status"),
                        "detail": detail, "meta": {"parameters": parameters or {}}}]}


def missing_privileges(privileges: list[str]) -> dict[str, Any]:
    """403 of Api/Exception/MissingPrivilegeException.php: the detail is itself JSON."""
    return error(403, "FRAMEWORK__MISSING_PRIVILEGE_ERROR", json.dumps(
        {"message": "Missing privilege", "missingPrivileges": privileges}))


def select(entity: str, record: dict[str, Any], criteria: dict[str, Any]) -> dict[str, Any]:
    """The record with only the associations the criteria load (and the autoloaded ones);
    the others are ``null``, as the DAL leaves them unloaded."""
    result = copy.deepcopy(record)
    wanted = criteria.get("associations") or {}
    for name, target in ASSOCIATIONS.get(entity, {}).items():
        if name not in result:
            continue
        if name not in wanted and name not in AUTOLOADED.get(entity, set()):
            result[name] = None
            continue
        value, nested = result[name], wanted.get(name) or {}
        if isinstance(value, list):
            result[name] = [select(target, v, nested) for v in value]
        elif isinstance(value, dict):
            result[name] = select(target, value, nested)
    return result


def as_json(entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """JsonEntityEncoder: the fields as they are, ``apiAlias`` on every entity."""
    result = {k: v for k, v in record.items()}
    for name, target in ASSOCIATIONS.get(entity, {}).items():
        value = result.get(name)
        if isinstance(value, list):
            result[name] = [as_json(target, v) for v in value]
        elif isinstance(value, dict):
            result[name] = as_json(target, value)
    result["apiAlias"] = entity
    return result


def json_listing(entity: str, records: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """Type/Api/JsonType.php ``createListingResponse``."""
    return {"total": total, "data": [as_json(entity, r) for r in records], "aggregations": []}


def json_api_listing(entity: str, records: list[dict[str, Any]], total: int,
                     base: str) -> dict[str, Any]:
    """Type/Api/JsonApiType.php ``createListingResponse`` with Serializer/JsonApiEncoder.php:
    each entity a resource ``{id, type, attributes, relationships, links}``; associated
    entities only as references, their content in ``included``."""
    included: dict[tuple[str, str], dict[str, Any]] = {}

    def resource(kind: str, record: dict[str, Any], top: bool) -> dict[str, str]:
        rid = str(record.get("id"))
        links = {"self": f"{base}/{kind.replace('_', '-')}/{rid}"}
        attributes, relationships = {}, {}
        associations = ASSOCIATIONS.get(kind, {})
        for key, value in record.items():
            if key == "id":
                continue
            if key not in associations:
                attributes[key] = value
                continue
            target = associations[key]
            if isinstance(value, list):
                data: Any = [resource(target, v, False) for v in value]
            elif isinstance(value, dict):
                data = resource(target, value, False)
            else:
                data = [] if key[-1] == "s" else None
            relationships[key] = {"data": data,
                                  "links": {"related": f"{links['self']}/{key}"}}
        node = {"id": rid, "type": kind, "attributes": attributes or {}, "links": links,
                "relationships": relationships, "meta": None}
        if not top:
            included.setdefault((kind, rid), node)
        else:
            data_nodes.append(node)
        return {"type": kind, "id": rid}

    data_nodes: list[dict[str, Any]] = []
    for record in records:
        resource(entity, record, True)
    return {"data": data_nodes, "included": list(included.values()),
            "links": {"self": f"{base}/search/{entity.replace('_', '-')}"},
            "meta": {"totalCountMode": 0, "total": total}, "aggregations": []}
