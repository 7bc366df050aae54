"""Channel ``setting.http_protocol`` / ``setting.http2_connection_shards`` and
``settings.openrouter_enterprise`` on save: New API's values accepted, the others refused with a
message naming the key, and shards the HTTP/1.1 upstream client cannot apply refused, not ignored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import Roles


async def _save(roles: Roles, **fields: Any) -> dict[str, Any]:
    channel = {"type": 20, "key": "sk-x", "models": "gpt-4o-mini", "name": "c", **fields}
    return dict((await roles.root.post("/api/channel/", json={"mode": "single", "channel": channel})).json())


@pytest.mark.parametrize(
    "setting",
    [
        {"http_protocol": "http1"},
        {"http_protocol": "AUTO"},
        {"http_protocol": ""},
        {"http_protocol": "auto", "http2_connection_shards": 1},
        {"http_protocol": "http1", "http2_connection_shards": 0},
        {"http2_connection_shards": 1},
    ],
)
async def test_transport_values_served_are_saved(roles: Roles, setting: dict[str, Any]) -> None:
    answer = await _save(roles, setting=json.dumps(setting))
    assert answer["success"], answer


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ({"http_protocol": "http3"}, "http_protocol must be auto or http1"),
        ({"http_protocol": 2}, "http_protocol must be auto or http1"),
        ({"http2_connection_shards": 9}, "from 0 to 8"),
        ({"http2_connection_shards": -1}, "from 0 to 8"),
        ({"http2_connection_shards": "2"}, "from 0 to 8"),
        ({"http2_connection_shards": True}, "from 0 to 8"),
        (
            {"http_protocol": "http1", "http2_connection_shards": 2},
            "must be 0 or 1 when http_protocol is http1",
        ),
        ({"http_protocol": "auto", "http2_connection_shards": 4}, "speaks HTTP/1.1 to upstreams"),
    ],
)
async def test_transport_values_not_served_are_refused(
    roles: Roles, setting: dict[str, Any], words: str
) -> None:
    answer = await _save(roles, setting=json.dumps(setting))
    assert not answer["success"] and answer["message"].startswith("setting: "), answer
    assert words in answer["message"]


async def test_openrouter_enterprise_must_be_a_flag(roles: Roles) -> None:
    assert (await _save(roles, settings=json.dumps({"openrouter_enterprise": True})))["success"]
    refused = await _save(roles, settings=json.dumps({"openrouter_enterprise": "yes"}))
    assert refused == {"success": False, "message": "settings: openrouter_enterprise must be true or false"}
