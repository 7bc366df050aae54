"""The OpenAPI 3.1 description of the management API, generated from the route table.

Every operation carries its role (``x-role``: public, key, user, admin, root),
its query parameters and request body as JSON Schema (from the msgspec Structs
the handlers decode with), and New API's envelope as the response.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from newapi import __version__
from newapi.api.envelope import INT32_MAX
from newapi.api.spec import Op, Paging

_PATH_PARAM = re.compile(r"{(\w+)}")
_REF = "#/components/schemas/{name}"

_ENVELOPE = {
    "type": "object",
    "required": ["success", "message"],
    "properties": {
        "success": {"type": "boolean"},
        "message": {"type": "string"},
        "code": {"type": "string"},
        "data": {},
    },
}
_PAGE = {
    "type": "object",
    "properties": {
        "success": {"type": "boolean"},
        "message": {"type": "string"},
        "data": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {}},
                "total": {"type": "integer"},
                "page": {"type": "integer"},
                "page_size": {"type": "integer"},
            },
        },
    },
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "user": [{"session": [], "user_header": []}, {"access_token": [], "user_header": []}],
    "key": [{"api_key_query": []}, {"api_key": []}],
}
_DESCRIPTIONS = {
    "public": "No authentication.",
    "key": "Authenticated by an API key (sk-...), checked as the relay checks it.",
    "user": "Any logged-in user (role >= 1).",
    "admin": "Admins (role >= 10).",
    "root": "The root user (role 100).",
}


def _data_schema(op: Op) -> dict[str, Any]:
    """``{"$ref": Envelope}`` with ``data`` typed, for routes that name their answer's type."""
    data = msgspec.json.schema(op.response, ref_template=_REF)
    data.pop("$defs", None)
    return {"allOf": [{"$ref": _REF.format(name="Envelope")}, {"properties": {"data": data}}]}


def _responses(op: Op) -> dict[str, Any]:
    name = "Page" if op.paged else "Envelope"
    schema = _data_schema(op) if op.response is not None else {"$ref": _REF.format(name=name)}
    envelope = {"application/json": {"schema": schema}}
    responses: dict[str, Any] = {"200": {"description": "New API's envelope", "content": envelope}}
    failure = {"application/json": {"schema": {"$ref": _REF.format(name="Envelope")}}}
    if op.role not in ("public",):
        responses["401"] = {"description": "not authenticated", "content": failure}
        responses["403"] = {"description": "role too low or user disabled", "content": failure}
    responses["413"] = {"description": "request body too large", "content": failure}
    responses["429"] = {"description": "rate limited", "content": failure}
    if op.path == "/api/channel/test":
        responses["409"] = {"description": "already running", "content": failure}
    return responses


def _query_parameters(op: Op, components: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    structs = [s for s in (op.query, Paging if op.paged else None) if s is not None]
    for struct in structs:
        schema = components.get(struct.__name__, {})
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": False, "schema": prop})
    return params


def _operation(op: Op, components: dict[str, Any]) -> dict[str, Any]:
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0, "maximum": INT32_MAX},
        }
        for name in _PATH_PARAM.findall(op.path)
    ]
    params += _query_parameters(op, components)
    role = op.role
    operation: dict[str, Any] = {
        "operationId": re.sub(r"\W+", "_", f"{op.method.lower()}{op.path}").strip("_"),
        "summary": op.summary or (op.handler.__doc__ or op.handler.__name__).strip().split("\n")[0],
        "description": _DESCRIPTIONS[role],
        "tags": [op.path.split("/")[2] if op.path.count("/") >= 2 else "api"],
        "x-role": role,
        "parameters": params,
        "responses": _responses(op),
    }
    if role in ("user", "admin", "root"):
        operation["security"] = _SECURITY["user"]
    elif role == "key":
        operation["security"] = _SECURITY["key"]
    if op.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(name=op.body.__name__)}}},
        }
    return operation


def build_spec(ops: Sequence[Op]) -> dict[str, Any]:
    structs: list[Any] = [Paging]
    for op in ops:
        for struct in (op.body, op.query, op.response):
            if struct is not None and struct not in structs:
                structs.append(struct)
    _, components = msgspec.json.schema_components(structs, ref_template=_REF)
    components["Envelope"] = _ENVELOPE
    components["Page"] = _PAGE
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "newapi management API",
            "version": __version__,
            "description": "New API's management API (session cookie + New-Api-User era).",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                "user_header": {"type": "apiKey", "in": "header", "name": "New-Api-User"},
                "access_token": {"type": "http", "scheme": "bearer"},
                "api_key": {"type": "http", "scheme": "bearer"},
                "api_key_query": {"type": "apiKey", "in": "query", "name": "key"},
            },
        },
    }


async def openapi_json(request: Request) -> Response:
    """The OpenAPI description of this API (built once per worker)."""
    body: bytes = request.app.state.openapi
    return Response(body, media_type="application/json")
