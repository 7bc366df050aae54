"""Property tests of the SSE scanner: serialized events come back whatever the line ends and chunking."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import pytest

pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newapi._speedups import _sse_py

_sse_c: ModuleType | None
try:
    from newapi._speedups import sse as _sse_c
except ImportError:
    _sse_c = None

Fields = tuple[bytes | None, str | None, str | None, bytes | None, bytes]
PROPERTY = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(params=["py", "c"])
def sse(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "py":
        return _sse_py
    if _sse_c is None:
        pytest.skip("newapi._speedups.sse is not compiled (cythonize newapi/_speedups/sse.pyx)")
    return _sse_c


# Values never contain a line end; they may contain colons, spaces and any other UTF-8.
_value = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
_line_end = st.sampled_from([b"\n", b"\r\n", b"\r"])


@dataclass
class Line:
    kind: str  # "data", "event", "id", "comment" or "retry"
    value: str


_line = st.builds(
    Line,
    st.sampled_from(["data", "data", "event", "id", "comment", "retry"]),
    _value.filter(lambda v: "\0" not in v),
)


@st.composite
def _stream(draw: st.DrawFn) -> tuple[bytes, list[Fields], list[bytes]]:
    """A serialized stream, the events it must give back, and a chunking of it."""
    out = bytearray()
    expected: list[Fields] = []
    events = draw(st.lists(st.lists(_line, min_size=1, max_size=5), max_size=6))
    last_end = b""
    for index, lines in enumerate(events):
        start = len(out)
        ends: list[bytes] = []

        def end(blank: bool, ends: list[bytes] = ends) -> bytes:
            nonlocal last_end
            e = draw(_line_end)
            if blank and last_end == b"\r" and e.startswith(b"\n"):
                e = b"\r"  # CR then LF would read as one CRLF, not as a blank line
            last_end = e
            ends.append(e)
            return e

        for _ in range(draw(st.integers(0, 2))):
            out += end(True)
        data: list[bytes] = []
        comments: list[bytes] = []
        event_name = event_id = None
        for line in lines:
            value = line.value.encode()
            if line.kind == "comment":
                out += b":" + (b" " + value if value.startswith(b" ") or draw(st.booleans()) else value)
                comments.append(value)
            else:
                name = line.kind.encode()
                if value or draw(st.booleans()):
                    sep = b": " if value.startswith(b" ") or draw(st.booleans()) else b":"
                    out += name + sep + value
                else:
                    out += name  # a bare field name means an empty value
                if line.kind == "data":
                    data.append(value)
                elif line.kind == "event":
                    event_name = line.value
                elif line.kind == "id":
                    event_id = line.value
            out += end(False)
        final = index == len(events) - 1
        if not (final and draw(st.booleans())):  # the last event may end at EOF without a blank line
            out += end(True)
        expected.append(
            (
                b"\n".join(data) if data else None,
                event_name,
                event_id,
                b"\n".join(comments) if comments else None,
                bytes(out[start:]),
            )
        )
    stream = bytes(out)
    cuts = sorted(set(draw(st.lists(st.integers(0, len(stream)), max_size=8))))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    return stream, expected, chunks


def _scan(sse: ModuleType, chunks: list[bytes]) -> list[Fields]:
    scanner = sse.SSEScanner()
    events = [e for chunk in chunks for e in scanner.feed(chunk)] + scanner.finish()
    return [(e.data, e.event, e.id, e.comment, e.raw) for e in events]


@PROPERTY
@given(case=_stream())
def test_serialized_events_come_back(sse: ModuleType, case: tuple[bytes, list[Fields], list[bytes]]) -> None:
    stream, expected, chunks = case
    got = _scan(sse, chunks)
    assert got == expected
    assert b"".join(e[4] for e in got) == stream


@PROPERTY
@given(
    stream=st.binary(max_size=80)
    | st.lists(st.sampled_from([b"data:", b" x", b"\r", b"\n", b":"])).map(b"".join),
    cuts=st.lists(st.integers(0, 80), max_size=6),
    max_line=st.sampled_from([1, 3, 16, 1 << 20]),
)
def test_compiled_and_twin_agree(stream: bytes, cuts: list[int], max_line: int) -> None:
    if _sse_c is None:
        pytest.skip("newapi._speedups.sse is not compiled (cythonize newapi/_speedups/sse.pyx)")
    bounds = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *bounds], [*bounds, len(stream)], strict=True)]
    outcomes = []
    for module in (_sse_py, _sse_c):
        scanner = module.SSEScanner(max_line)
        outcome: list[object] = []
        try:
            for chunk in chunks:
                outcome.append([(e.data, e.event, e.id, e.comment, e.raw) for e in scanner.feed(chunk)])
                outcome.append(scanner.pending_bytes)
            outcome.append([(e.data, e.event, e.id, e.comment, e.raw) for e in scanner.finish()])
        except module.SSELineTooLong as exc:
            outcome.append(str(exc))
        outcomes.append(outcome)
    assert outcomes[0] == outcomes[1]
