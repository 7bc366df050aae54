"""Xunfei Spark channels (type 18): key ``APPID|APISecret|APIKey``, a signed ``wss://`` URL.

The API version comes from the model name (``SparkDesk-v3.5``), else the channel's ``other``,
else v1.1, and decides the path and the ``domain`` as New API has them. The base URL (default
``wss://spark-api.xf-yun.com``; an ``http(s)`` base is taken as ``ws(s)``) replaces only the host.
"""

from __future__ import annotations

from newapi.adaptors.signed import Context, Prepared, family
from newapi.adaptors.xunfei import response, signature, stream
from newapi.adaptors.xunfei.request import render_request
from newapi.adaptors.xunfei.versions import chat_url, parse_key, version_of


async def prepare(body: bytes, ctx: Context) -> Prepared:
    _, api_secret, api_key = parse_key(ctx.key)
    url = chat_url(ctx.channel.base_url, version_of(ctx.model, ctx.channel.other))
    return Prepared(signature.signed_url(url, api_key, api_secret), [], websocket=True)


FAMILY = family("xunfei", render_request, prepare, response, stream.Reader, final=response.final)
