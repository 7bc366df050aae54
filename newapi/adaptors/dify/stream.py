"""Dify's streaming events to neutral events, as New API converts them.

``message``/``agent_message`` carry the answer (Dify's "Thinking..." details block becomes
``<think>``/``</think>``); ``message_end`` has the usage; ``error`` ends the stream. With
``DIFY_DEBUG`` (New API's default) each workflow_* and node_* event reaches the client as a line
of reasoning ("Workflow: <id> [status]", "Node: <type> [status]") and counts one completion
token; without it those events are dropped.
"""

from __future__ import annotations

import msgspec

from newapi.adaptors.dify import schemas
from newapi.adaptors.openai.response import convert_usage
from newapi.convert import model as m
from newapi.streaming.scanner import SSEEvent

THINK_OPEN = (
    '<details style="color:gray;background-color: #f8f8f8;padding: 8px;border-radius: 4px;" open> '
    "<summary> Thinking... </summary>\n"
)


class Reader:
    __slots__ = ("_begun", "_debug", "_nodes")

    def __init__(self, debug: bool = True) -> None:
        self._debug = debug
        self._begun = False
        self._nodes = 0  # debug lines sent, each billed as one completion token (New API)

    def read(self, event: SSEEvent) -> list[m.Event]:
        data = event.data
        if not data or event.done:
            return []
        try:
            view = schemas.event_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return []
        out: list[m.Event] = []
        if not self._begun and view.event != "ping":
            self._begun = True
            out.append(m.Begin(view.conversation_id or ""))
        kind = view.event
        if kind in ("message", "agent_message"):
            answer = view.answer or ""
            answer = "<think>" if answer == THINK_OPEN else "</think>" if answer == "</details>" else answer
            if answer:
                out.append(m.TextDelta(answer))
        elif kind.startswith(("workflow_", "node_")):
            if self._debug:
                out.append(m.ThinkingDelta(self._debug_line(view)))
                self._nodes += 1
        elif kind == "message_end":
            out.append(m.Finish("stop"))
            usage = view.metadata.usage if view.metadata is not None else None
            if usage is not None and (usage.prompt_tokens or usage.completion_tokens or usage.total_tokens):
                neutral = convert_usage(usage)
                neutral.completion_tokens += self._nodes
                out.append(m.UsageReport(neutral))
        elif kind == "error":
            out.append(m.Failure(view.message or "Dify reported an error", view.code or "upstream_error"))
        return out

    @staticmethod
    def _debug_line(view: schemas.StreamEvent) -> str:
        data = view.data or schemas.EventData()
        if view.event.startswith("workflow_"):
            text = "Workflow: " + (data.workflow_id or "")
            if view.event == "workflow_finished":
                text += " " + (data.status or "")
        else:
            text = "Node: " + (data.node_type or "")
            if view.event == "node_finished":
                text += " " + (data.status or "")
        return text + "\n"


class QuietReader(Reader):
    """DIFY_DEBUG=false: workflow and node events are dropped."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(debug=False)
