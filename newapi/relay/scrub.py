"""Scrubbing a channel's own key strings out of upstream error text.

Upstreams quote the key they received when they refuse it (OpenAI, Anthropic, ...). The pattern
masks in ``masking`` only know key shapes (``sk-``, ``AIza``); this knows the channel's actual
secrets: every key of a multi-key channel and the parts a key is made of (Bedrock's access key,
secret and session token; a Vertex service account's private key and client email; the halves of
``id.secret`` keys; ``|``-separated parts). The needles are built on a channel's first upstream
error and kept on its cached ``ChannelInfo``, so the success path never pays for them. The
credentials of the request itself (a Vertex access token minted from the key, a Gemini ``?key=``)
are scrubbed as well, read from the request only when it failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, quote, urlsplit

import ahocorasick
import orjson

from newapi.adaptors.bedrock import channel as bedrock
from newapi.adaptors.vertex.credentials import parse_service_account
from newapi.core.constants import ChannelType
from newapi.core.errors import UpstreamError, UpstreamStatusError
from newapi.core.structs import ChannelInfo
from newapi.relay.masking import mask_sensitive
from newapi.relay.outgoing_base import Outgoing

#: shorter parts (a region, an account id) are not secrets and would scrub ordinary words
MIN_NEEDLE = 6
REDACTED = "***"
_CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-api-key", b"x-goog-api-key", b"api-key"})


#: up to this many needles, chained C-level replaces; past it, one Aho-Corasick pass
_FEW = 16
#: a raw body past this size, on a channel with many needles, is dropped rather than scanned
#: (about 3 ms of the event loop per 64 KiB; nothing reads the raw body yet)
_RAW_SCAN_LIMIT = 64 * 1024


class KeyScrubber:
    """Replaces every needle, longest first, in text and in raw bytes.

    A multi-key channel may hold thousands of keys: one regex alternation of them costs about a
    second to compile and milliseconds per message, so many needles are found in one pass of an
    Aho-Corasick automaton instead (raw bytes through their Latin-1 view, one character a byte).
    """

    __slots__ = ("_automaton", "_needles", "_raw_automaton", "source")

    def __init__(self, needles: tuple[str, ...], source: tuple[str, ...] = ()) -> None:
        self._needles = needles  # longest first
        #: the keys the needles came from: a channel whose keys were swapped gets a new scrubber
        self.source = source
        self._automaton = _automaton(needles) if len(needles) > _FEW else None
        self._raw_automaton: ahocorasick.Automaton | None = None

    def text(self, value: str) -> str:
        if not value or not self._needles:
            return value
        if self._automaton is None:
            for needle in self._needles:
                if needle in value:
                    value = value.replace(needle, REDACTED)
            return value
        return _scan(value, self._automaton)

    def raw(self, value: bytes) -> bytes:
        if not value or not self._needles:
            return value
        if self._automaton is None:
            for needle in self._needles:
                value = value.replace(needle.encode(), REDACTED.encode())
            return value
        if len(value) > _RAW_SCAN_LIMIT:
            return b""
        if self._raw_automaton is None:
            self._raw_automaton = _automaton(tuple(n.encode().decode("latin-1") for n in self._needles))
        return _scan(value.decode("latin-1"), self._raw_automaton).encode("latin-1")


def _automaton(needles: tuple[str, ...]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for needle in needles:
        automaton.add_word(needle, len(needle))
    automaton.make_automaton()
    return automaton


def _scan(value: str, automaton: ahocorasick.Automaton) -> str:
    pieces: list[str] = []
    start = 0
    for last, length in automaton.iter_long(value):  # leftmost, longest, not overlapping
        first = last - length + 1
        pieces += (value[start:first], REDACTED)
        start = last + 1
    pieces.append(value[start:])
    return "".join(pieces)


def _split(key: str) -> Iterator[str]:
    """``a|b|c`` parts and the halves of ``id.secret`` keys."""
    for part in key.split("|"):
        part = part.strip()
        yield part
        if "." in part:
            yield from part.split(".")


def _parts(channel_type: int, key: str) -> Iterator[str]:
    yield key
    account = parse_service_account(key)
    if account is not None:
        yield account.client_email
        yield account.private_key_id
        yield account.private_key
        # Line by line too: a quoted key may be re-wrapped or escaped, its base64 lines are not.
        yield from (line for line in account.private_key.splitlines() if not line.startswith("-----"))
        return
    if channel_type == ChannelType.AWS:
        try:
            credentials = bedrock.parse_key(key)
        except ValueError:
            pass
        else:  # the region is not a secret
            yield from (credentials.access_key, credentials.secret_key, credentials.session_token)
            yield credentials.api_key
            return
    yield from _split(key)


def _variants(needle: str) -> Iterator[str]:
    """The needle as quoted in JSON and in a URL, where that differs from the plain text."""
    yield needle
    yield orjson.dumps(needle).decode()[1:-1]
    yield quote(needle, safe="")


def _needles(parts: Iterator[str]) -> tuple[str, ...]:
    found = {
        variant for part in parts if len(part.strip()) >= MIN_NEEDLE for variant in _variants(part.strip())
    }
    return tuple(sorted(found, key=len, reverse=True))


def needles(channel: ChannelInfo) -> tuple[str, ...]:
    return _needles(part for key in channel.keys for part in _parts(channel.type, key))


def _wire_credentials(out: Outgoing) -> Iterator[str]:
    """What authenticated this request: header values (without their scheme) and ``key=``."""
    for name, value in out.headers:
        if name in _CREDENTIAL_HEADERS:
            text = value.decode("latin-1")
            scheme, _, credential = text.partition(" ")
            yield credential if scheme.lower() in ("bearer", "basic") else text
    yield from (value for name, value in parse_qsl(urlsplit(out.url).query) if name == "key")


def scrubber_for(channel: ChannelInfo) -> KeyScrubber:
    scrubber = channel.key_scrubber
    if not isinstance(scrubber, KeyScrubber) or scrubber.source is not channel.keys:
        scrubber = channel.key_scrubber = KeyScrubber(needles(channel), channel.keys)
    return scrubber


def scrub_error(error: UpstreamError, channel: ChannelInfo, out: Outgoing | None) -> None:
    """Make an upstream failure ours: no key of ``channel`` in anything a client or a log can read.

    Runs where every upstream error of an attempt leaves it, so the client's answer, the error log
    row, the auto-disable reason and the process log all see the scrubbed text.
    """
    scrubbers = [scrubber_for(channel)]
    if out is not None:
        scrubbers.append(KeyScrubber(_needles(_wire_credentials(out))))
    message, raw, code = error.message, b"", ""
    if isinstance(error, UpstreamStatusError):
        raw, code = error.raw_body, error.upstream_code
    for scrubber in scrubbers:
        message, raw, code = scrubber.text(message), scrubber.raw(raw), scrubber.text(code)
    if isinstance(error, UpstreamStatusError):
        # Hosts, IPs and key-shaped strings too (New API's mask), after the exact keys are gone.
        message = mask_sensitive(message) or f"upstream returned status {error.status}"
        error.raw_body, error.upstream_code = raw, code
    error.message = message
    error.args = (message,)
