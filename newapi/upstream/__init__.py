"""The relay's upstream HTTP client: lean HTTP/1.1 on asyncio protocols and ``httptools``.

httpx stays the control plane's client; this one is on the relay path because the
benchmark (``bench/micro/test_upstream_client_bench.py``) shows it costs a fraction of
httpx's CPU per request. Errors are the gateway's own: :class:`UpstreamConnectError`,
:class:`UpstreamTimeout` and :class:`UpstreamProtocolError` from ``newapi.core.errors``.
"""

from newapi.upstream._route import parse_proxy
from newapi.upstream.client import UpstreamClient
from newapi.upstream.response import UpstreamResponse

__all__ = ["UpstreamClient", "UpstreamResponse", "parse_proxy"]
