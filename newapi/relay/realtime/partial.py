"""The response in progress, counted locally, for a session that ends before its ``response.done``.

New API counts the text of a Realtime session's events as they pass (``CountTokenRealtime``) and,
when the session ends with output not yet billed by a ``response.done``, bills that count. Here
only the text the upstream sent for the open response is counted (text and audio-transcript
deltas, with the model's tokenizer); per response the state is a counter, never the text.
Audio bytes are not estimated: their tokens are known only from ``response.done``.
"""

from __future__ import annotations

import msgspec

from newapi.billing.realtime_quota import RealtimeUsage
from newapi.tokens import count_text, estimate_tokens, provider_for_model

_TEXT_DELTAS = frozenset(
    {
        "response.output_text.delta",
        "response.text.delta",
        "response.output_audio_transcript.delta",
        "response.audio_transcript.delta",
    }
)


class _Delta(msgspec.Struct):
    type: str = ""
    delta: str | None = None


_decoder = msgspec.json.Decoder(_Delta)


class PartialResponse:
    def __init__(self, model: str) -> None:
        self._model = model
        self.open = False  # a response was created and has not reported its usage yet
        self.text_tokens = 0

    def observe(self, text: str) -> None:
        """Read one upstream text frame (anything but ``response.done``)."""
        if '"response.created"' in text:
            self.open, self.text_tokens = True, 0
            return
        if 'delta"' not in text or not ('text.delta"' in text or 'transcript.delta"' in text):
            return
        try:
            event = _decoder.decode(text)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        if event.type in _TEXT_DELTAS and event.delta:
            self.open = True
            try:
                self.text_tokens += count_text(event.delta, self._model)
            except Exception:
                self.text_tokens += estimate_tokens(event.delta, provider_for_model(self._model))

    def done(self) -> None:
        self.open, self.text_tokens = False, 0

    def usage(self) -> RealtimeUsage | None:
        """The open response's output so far, or None when there is nothing to bill."""
        if not self.open or not self.text_tokens:
            return None
        n = self.text_tokens
        return RealtimeUsage(output_tokens=n, total_tokens=n, text_output=n)
