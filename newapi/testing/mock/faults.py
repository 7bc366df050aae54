"""Fault directives, chosen per request.

Directives are read from anywhere in the model name (so they survive a gateway that forwards no
custom header) and from the ``x-mock-fault`` request header (comma-separated, same syntax); the
header wins where both set a value. A directive must stand between separators (start/end of the
string or one of ``-_/:,.+ ``). Matching is case-insensitive.

=========================  ==================================================================
``slow-ttfb-<N>ms|s``      wait N before sending the response head
``latency-<N>ms|s``        wait N between stream events (non-stream: N x pieces before replying)
``chunks-<N>``             N content pieces (default: the server's ``chunks``)
``stall-after-<K>``        send K events, then keep the socket open and send nothing more
``cut-after-<K>``          send K events, then close without the terminator or final chunk
``bad-json-<K>``           event K (1-based) carries malformed JSON
``error-event-<K>``        after K events send the provider's in-stream error event, then end
``status-<code>``          answer with that HTTP status and the provider's error body
``retry-after-<N>``        ``retry-after`` value for 429/503 (default 1)
``error-body-200``         HTTP 200 whose body is the provider's error JSON (``200-error-body`` too)
``huge-line-<N>MB|KB``     the first content piece is N MiB (KiB) long, so one data line exceeds it
``no-usage``               report no usage at all
``neg-usage``              report every usage number negated
``usage-P-C[-R[-W]]``      force usage (same as the ``x-mock-usage: P,C[,R[,W]]`` header)
``cache-R[-W]``            report R cache-read (and W cache-write) tokens out of the prompt
``tool-call``              answer with a tool call even if the prompt does not ask for one
                           (never to a tool result: that gets text)
``ignore-cancel``          keep generating (counting events) after the client has gone
``quote-key``              refuse the key (401, or ``status-<code>``) quoting every credential received
``web-search-<N>``         Responses: N ``web_search_call`` output items before the answer; Gemini:
                           grounding metadata with N web search queries on the last chunk
``file-search-<N>``        Responses: N ``file_search_call`` output items
``image-gen-<N>``          Responses: N completed ``image_generation_call`` output items
=========================  ==================================================================

Events are numbered from 1 in the order sent, counting every SSE event (role chunk, ``ping``,
``[DONE]`` ...; for Gemini without ``alt=sse``, each array item and the closing ``]``). A stream with
fewer than K events completes normally; K equal to the event count withholds only the final chunk.
For a non-stream response ``stall-after-K``/``cut-after-K`` send the head and, when K >= 1, the first
half of the body, then stall or close; ``bad-json-K`` with any K truncates the body; ``latency`` and
``huge-line`` apply to the generated text. Status, ``error-body-200`` and ``slow-ttfb`` apply to
every provider route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

_SEP = r"(?:^|(?<=[-_/:,.+ ]))"
_END = r"(?=$|[-_/:,.+ ])"
_PATTERN = re.compile(
    _SEP
    + r"(?:"
    + r"slow-ttfb-(?P<ttfb>\d+)(?P<ttfb_unit>ms|s)"
    + r"|latency-(?P<latency>\d+)(?P<latency_unit>ms|s)"
    + r"|chunks-(?P<chunks>\d+)"
    + r"|stall-after-(?P<stall>\d+)"
    + r"|cut-after-(?P<cut>\d+)"
    + r"|bad-json-(?P<bad>\d+)"
    + r"|error-event-(?P<error_event>\d+)"
    + r"|status-(?P<status>\d{3})"
    + r"|retry-after-(?P<retry>\d+)"
    + r"|(?P<error200>error-body-200|200-error-body)"
    + r"|huge-line-(?P<huge>\d+)(?P<huge_unit>mb|kb)"
    + r"|(?P<no_usage>no-usage)"
    + r"|(?P<neg_usage>neg-usage)"
    + r"|usage-(?P<usage>\d+(?:-\d+){1,3})"
    + r"|cache-(?P<cache>\d+(?:-\d+)?)"
    + r"|(?P<tool>tool-call)"
    + r"|(?P<ignore_cancel>ignore-cancel)"
    + r"|(?P<quote_key>quote-key)"
    + r"|web-search-(?P<web_search>\d+)"
    + r"|file-search-(?P<file_search>\d+)"
    + r"|image-gen-(?P<image_gen>\d+)"
    + r")"
    + _END
)


@dataclass(frozen=True, slots=True)
class Faults:
    ttfb: float = 0.0
    latency: float | None = None
    chunks: int | None = None
    stall_after: int | None = None
    cut_after: int | None = None
    bad_json: int | None = None
    error_event: int | None = None
    status: int | None = None
    retry_after: int = 1
    error_body_200: bool = False
    huge_line: int = 0
    no_usage: bool = False
    neg_usage: bool = False
    usage: tuple[int, int, int, int] | None = None
    cache: tuple[int, int] | None = None
    tool_call: bool = False
    ignore_cancel: bool = False
    quote_key: bool = False
    web_search: int = 0
    file_search: int = 0
    image_gen: int = 0
    names: tuple[str, ...] = ()


NONE = Faults()


def _seconds(value: str, unit: str) -> float:
    return int(value) / 1000.0 if unit == "ms" else float(value)


@lru_cache(maxsize=4096)
def parse(text: str) -> Faults:
    """Faults named in ``text`` (a model name or an ``x-mock-fault`` header value)."""
    if "-" not in text:
        return NONE
    found: dict[str, object] = {}
    names: list[str] = []
    for m in _PATTERN.finditer(text.lower()):
        names.append(m.group(0))
        g = m.groupdict()
        if g["ttfb"] is not None:
            found["ttfb"] = _seconds(g["ttfb"], g["ttfb_unit"])
        elif g["latency"] is not None:
            found["latency"] = _seconds(g["latency"], g["latency_unit"])
        elif g["huge"] is not None:
            found["huge_line"] = int(g["huge"]) * (1 << 20 if g["huge_unit"] == "mb" else 1 << 10)
        elif g["usage"] is not None:
            nums = [int(x) for x in g["usage"].split("-")] + [0, 0]
            found["usage"] = (nums[0], nums[1], nums[2], nums[3])
        elif g["cache"] is not None:
            nums = [int(x) for x in g["cache"].split("-")] + [0]
            found["cache"] = (nums[0], nums[1])
        else:
            for key, field in _SIMPLE.items():
                if g[key] is not None:
                    found[field] = int(g[key]) if key in _INTS else True
    if not names:
        return NONE
    return replace(NONE, names=tuple(names), **found)  # type: ignore[arg-type]


_INTS = frozenset(
    {
        "chunks",
        "stall",
        "cut",
        "bad",
        "error_event",
        "status",
        "retry",
        "web_search",
        "file_search",
        "image_gen",
    }
)
_SIMPLE = {
    "chunks": "chunks",
    "stall": "stall_after",
    "cut": "cut_after",
    "bad": "bad_json",
    "error_event": "error_event",
    "status": "status",
    "retry": "retry_after",
    "error200": "error_body_200",
    "no_usage": "no_usage",
    "neg_usage": "neg_usage",
    "tool": "tool_call",
    "ignore_cancel": "ignore_cancel",
    "quote_key": "quote_key",
    "web_search": "web_search",
    "file_search": "file_search",
    "image_gen": "image_gen",
}


def parse_usage_header(value: str) -> tuple[int, int, int, int]:
    """``P,C[,R[,W]]`` → (prompt, completion, cache read, cache write)."""
    nums = [int(x) for x in value.replace(" ", "").split(",") if x] + [0, 0]
    if len(nums) < 4:
        raise ValueError("x-mock-usage needs at least prompt,completion")
    return (nums[0], nums[1], nums[2], nums[3])


def merge(base: Faults, over: Faults) -> Faults:
    """``over`` (from the header) wins for every value it sets."""
    if over is NONE:
        return base
    if base is NONE:
        return over
    changes = {
        name: getattr(over, name)
        for name in Faults.__dataclass_fields__
        if getattr(over, name) != getattr(NONE, name) and name != "names"
    }
    return replace(base, names=base.names + over.names, **changes)


def for_request(model: str, header: str | None, usage_header: str | None) -> Faults:
    faults = parse(model)
    if header:
        faults = merge(faults, parse(header.replace(",", " ")))
    if usage_header:
        faults = replace(faults, usage=parse_usage_header(usage_header))
    return faults
