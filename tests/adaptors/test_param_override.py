"""param_override operations, one behaviour at a time (New API's relay/common/override.go)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from newapi.adaptors import override
from newapi.adaptors.override import Run


def _ctx(**extra: Any) -> dict[str, Any]:
    ctx = override.context(
        model="gpt-4o",
        original_model="alias",
        request_path="/v1/chat/completions",
        client_headers=[(b"X-Trace", b"t-1"), (b"Accept", b"application/json")],
        header_override={"X-Team": "a"},
        retry_index=0,
    )
    ctx.update(extra)
    return ctx


def _run(ops: list[dict[str, Any]], body: Any, **extra: Any) -> Run:
    return override.run(override.compiled({"operations": ops}), body, _ctx(**extra))


def _body(ops: list[dict[str, Any]], body: Any) -> Any:
    return _run(ops, body).body


def test_set_delete_keep_origin_and_nested_paths() -> None:
    body = {"a": 1, "m": [{"x": 1}]}
    out = _body(
        [
            {"mode": "set", "path": "b.c", "value": 2},
            {"mode": "set", "path": "a", "value": 9, "keep_origin": True},
            {"mode": "set", "path": "m.0.y", "value": True},
            {"mode": "delete", "path": "m.0.x"},
            {"mode": "set", "path": "m.1", "value": {"z": 1}},
            {"mode": "set", "path": "m.-1.w", "value": 2},  # -1: the last element, now there
        ],
        body,
    )
    assert out == {"a": 1, "b": {"c": 2}, "m": [{"y": True}, {"z": 1, "w": 2}]}


def test_move_copy_and_a_missing_source_fails() -> None:
    out = _body(
        [{"mode": "copy", "from": "a", "to": "b"}, {"mode": "move", "from": "a", "to": "c.d"}], {"a": [1]}
    )
    assert out == {"b": [1], "c": {"d": [1]}}
    with pytest.raises(override.OverrideError, match="source path does not exist"):
        _body([{"mode": "move", "from": "nope", "to": "x"}], {})


def test_prepend_append_on_arrays_strings_and_objects() -> None:
    body = {"arr": [2], "s": "mid", "o": {"k": 1}}
    out = _body(
        [
            {"mode": "prepend", "path": "arr", "value": [0, 1]},
            {"mode": "append", "path": "arr", "value": 3},
            {"mode": "prepend", "path": "s", "value": "<"},
            {"mode": "append", "path": "s", "value": 5},
            {"mode": "append", "path": "o", "value": {"k": 2, "n": 3}, "keep_origin": True},
        ],
        body,
    )
    assert out == {"arr": [0, 1, 2, 3], "s": "<mid5", "o": {"k": 1, "n": 3}}
    with pytest.raises(override.OverrideError):
        _body([{"mode": "append", "path": "missing", "value": 1}], {})


def test_string_modes() -> None:
    body = {"m": "  openai/GPT-4o  "}
    out = _body(
        [
            {"mode": "trim_space", "path": "m"},
            {"mode": "trim_prefix", "path": "m", "value": "openai/"},
            {"mode": "to_lower", "path": "m"},
            {"mode": "ensure_prefix", "path": "m", "value": "acme-"},
            {"mode": "ensure_prefix", "path": "m", "value": "acme-"},
            {"mode": "ensure_suffix", "path": "m", "value": "-x"},
            {"mode": "trim_suffix", "path": "m", "value": "-x"},
            {"mode": "replace", "path": "m", "from": "gpt", "to": "GPT"},
            {"mode": "to_upper", "path": "m"},
        ],
        body,
    )
    assert out == {"m": "ACME-GPT-4O"}
    with pytest.raises(override.OverrideError, match="not supported"):
        _body([{"mode": "to_upper", "path": "n"}], {"n": 1})


def test_regex_replace_uses_go_replacement_syntax() -> None:
    ops = [{"mode": "regex_replace", "path": "m", "from": r"^(?P<v>\w+)-(\d+)$", "to": "$2-${v}$$-$9"}]
    assert _body(ops, {"m": "gpt-4"}) == {"m": "4-gpt$-"}


def test_regex_patterns_cannot_hang_and_bad_ones_are_refused() -> None:
    ops = [{"mode": "regex_replace", "path": "m", "from": "(a+)+$", "to": "x"}]
    started = time.perf_counter()
    assert _body(ops, {"m": "a" * 50_000 + "b"}) == {"m": "a" * 50_000 + "b"}
    assert time.perf_counter() - started < 1.0  # RE2: linear, no catastrophic backtracking
    assert override.validate({"operations": [{"mode": "regex_replace", "path": "m", "from": "(a"}]})
    assert override.validate({"operations": [{"mode": "regex_replace", "path": "m", "from": "x" * 5000}]})
    assert override.validate({"operations": [{"mode": "regex_replace", "path": "m", "from": "a"}]}) is None


def test_wildcards() -> None:
    body = {"messages": [{"role": "system", "content": "A"}, {"role": "user", "content": "B"}]}
    out = _body([{"mode": "to_lower", "path": "messages.*.content"}], body)
    assert [m["content"] for m in out["messages"]] == ["a", "b"]


def test_prune_objects() -> None:
    body = {"tools": [{"type": "web_search"}, {"type": "function", "f": {"type": "web_search"}}]}
    out = _body([{"mode": "prune_objects", "path": "tools", "value": "web_search"}], body)
    assert out == {"tools": [{"type": "function"}]}  # a matching object under a kept one goes too
    body = {"a": [{"k": 1, "t": "x"}, {"k": 2, "t": "x"}]}
    rule = {"where": {"t": "x"}, "conditions": [{"path": "k", "mode": "gt", "value": 1}], "logic": "AND"}
    assert _body([{"mode": "prune_objects", "path": "", "value": rule}], body) == {"a": [{"k": 1, "t": "x"}]}


def test_conditions_logic_invert_and_missing_keys() -> None:
    def when(conditions: list[dict[str, Any]], logic: str = "OR") -> bool:
        op = {"mode": "set", "path": "hit", "value": 1, "conditions": conditions, "logic": logic}
        return "hit" in _body([op], {"temperature": 0.5, "stream": True, "user": "team-7"})

    assert when([{"path": "temperature", "mode": "gt", "value": 0.4}])
    assert not when([{"path": "temperature", "mode": "lte", "value": 0.4}])
    assert when(
        [
            {"path": "user", "mode": "prefix", "value": "team-"},
            {"path": "stream", "mode": "full", "value": False},
        ]
    )
    assert not when(
        [
            {"path": "user", "mode": "prefix", "value": "team-"},
            {"path": "stream", "mode": "full", "value": False},
        ],
        "AND",
    )
    assert when([{"path": "user", "mode": "contains", "value": "x", "invert": True}])
    assert not when([{"path": "absent", "mode": "full", "value": 1}])
    assert when([{"path": "absent", "mode": "full", "value": 1, "pass_missing_key": True}])
    assert when({"stream": True})  # type: ignore[arg-type]  # the object form: full matches


def test_conditions_read_the_context() -> None:
    def when(path: str, value: str) -> bool:
        op = {
            "mode": "set",
            "path": "hit",
            "value": 1,
            "conditions": [{"path": path, "mode": "full", "value": value}],
        }
        return "hit" in _body([op], {})

    assert when("model", "gpt-4o") and when("upstream_model", "gpt-4o") and when("original_model", "alias")
    assert when("request_path", "/v1/chat/completions") and when("request_headers.x-trace", "t-1")
    with pytest.raises(override.OverrideError, match="different types"):
        _body(
            [
                {
                    "mode": "set",
                    "path": "x",
                    "value": 1,
                    "conditions": [{"path": "retry_index", "mode": "full", "value": "0"}],
                }
            ],
            {},
        )


def test_return_error() -> None:
    value = {"message": "blocked", "status_code": 403, "code": "no", "type": "policy", "skip_retry": True}
    with pytest.raises(override.ReturnError) as caught:
        _body([{"mode": "return_error", "value": value}], {})
    assert (caught.value.status, caught.value.code, caught.value.kind) == (403, "no", "policy")
    assert override.validate(
        {"operations": [{"mode": "return_error", "value": {"status": 700, "message": "x"}}]}
    )
    assert override.validate({"operations": [{"mode": "return_error", "value": {}}]})


def test_header_operations() -> None:
    run = _run(
        [
            {"mode": "set_header", "path": "X-New", "value": "1"},
            {"mode": "copy_header", "from": "x-trace", "to": "x-trace-up"},
            {"mode": "move_header", "from": "x-team", "to": "x-group"},
            {"mode": "pass_headers", "value": ["Accept", "X-Absent"]},
            {"mode": "set_header", "path": "x-list", "value": {"$append": ["a", "b"]}},
            {"mode": "delete_header", "path": "x-new"},
        ],
        {},
    )
    assert override.header_override(run) == {
        "x-trace-up": "t-1",
        "x-group": "a",
        "accept": "application/json",
        "x-list": "a,b",
    }
    assert override.header_override(_run([{"mode": "set", "path": "a", "value": 1}], {})) is None


def test_sync_fields() -> None:
    body = {"user": "u-1"}
    run = _run([{"mode": "sync_fields", "from": "json:user", "to": "header:x-user"}], body)
    assert (override.header_override(run) or {})["x-user"] == "u-1"
    out = _body(
        [{"mode": "sync_fields", "from": "body:user", "to": "metadata.user"}], {"metadata": {"user": "m"}}
    )
    assert out == {"metadata": {"user": "m"}, "user": "m"}


def test_audit_lines_cover_sensitive_paths_only() -> None:
    run = _run(
        [
            {"mode": "set", "path": "model", "value": "gpt-4o-mini"},
            {"mode": "set", "path": "temperature", "value": 0},
            {"mode": "set", "path": "model", "value": "gpt-4o-mini"},
            {"mode": "prepend", "path": "messages", "value": {"role": "system", "content": "be brief"}},
            {"mode": "delete", "path": "service_tier"},
            {"mode": "copy", "from": "model", "to": "metadata.m"},
        ],
        {"model": "gpt-4o", "messages": [], "service_tier": "flex"},
    )
    assert run.audit == [
        "set model = gpt-4o-mini",
        'prepend messages with {"content":"be brief","role":"system"}',
        "delete service_tier",
        "copy model -> metadata.m",
    ]
    legacy = override.compiled({"model": "x", "temperature": 1, "operations": []})
    assert legacy.legacy_audit == ("set model = x",)
    assert override.legacy({"model": "x", "operations": []}) == {"model": "x"}


def test_invalid_operations_are_refused_and_fail_requests() -> None:
    for bad in ([{"path": "x"}], [{"mode": "explode"}], "nope", [{"mode": "set", "conditions": 3}]):
        assert override.validate({"operations": bad})
        with pytest.raises(override.OverrideError):
            override.run(override.compiled({"operations": bad}), {}, _ctx())


def test_compiled_once_per_channel_version() -> None:
    version = {"operations": [{"mode": "regex_replace", "path": "m", "from": "a", "to": "b"}]}
    assert override.compiled(version) is override.compiled(version)
    assert override.compiled(dict(version)) is not override.compiled(version)


def test_negative_indexes_count_from_the_end_before_editing() -> None:
    body = {"messages": [{"content": "a"}, {"content": "b"}]}
    out = _body(
        [
            {"mode": "to_upper", "path": "messages.-1.content"},
            {"mode": "set", "path": "messages.-1.x", "value": 1},
        ],
        body,
    )
    assert out == {"messages": [{"content": "a"}, {"content": "B", "x": 1}]}
    assert _body([{"mode": "copy", "from": "messages.-1.content", "to": "last"}], body)["last"] == "B"
    assert _body([{"mode": "set", "path": "list.-1", "value": 1}], {"list": []}) == {"list": [1]}
