"""Print the management API's OpenAPI description (what /api/openapi.json serves) without a server.

The web console generates its API types from this (web/Makefile: api-types).
"""

from __future__ import annotations

import sys

import orjson

from newapi.api.app import ROUTES
from newapi.api.openapi import build_spec

sys.stdout.buffer.write(orjson.dumps(build_spec(ROUTES), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
sys.stdout.buffer.write(b"\n")
