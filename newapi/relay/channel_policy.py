"""Global options that decide how an attempt speaks to its channel (reference §4).

``global.pass_through_request_enabled`` (or a channel's ``pass_through_body_enabled``) sends the
client's body unchanged. ``global.chat_completions_to_responses_policy`` sends chat traffic of
matching channels and models to the channel's Responses API and converts the answer back
(New API's ChatCompletionsToResponsesPolicy: off by default; all channels, or listed channel
ids or types; model regexes, none of which means no model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newapi.core.structs import ChannelInfo
from newapi.options.store import OptionStore

PASS_THROUGH_OPTION = "global.pass_through_request_enabled"
RESPONSES_POLICY_OPTION = "global.chat_completions_to_responses_policy"


def pass_through(options: OptionStore, channel: ChannelInfo) -> bool:
    return options.get_bool(PASS_THROUGH_OPTION) or bool(channel.setting.get("pass_through_body_enabled"))


@dataclass(frozen=True, slots=True)
class ResponsesPolicy:
    enabled: bool = False
    all_channels: bool = True
    channel_ids: frozenset[int] = frozenset()
    channel_types: frozenset[int] = frozenset()
    patterns: tuple[re.Pattern[str], ...] = ()

    @staticmethod
    def read(options: OptionStore) -> ResponsesPolicy:
        raw = options.get_json(RESPONSES_POLICY_OPTION, {})
        if not isinstance(raw, dict) or not raw.get("enabled"):
            return ResponsesPolicy()
        patterns = []
        for pattern in raw.get("model_patterns") or ():
            try:
                patterns.append(re.compile(str(pattern)))
            except re.error:
                continue  # New API treats an invalid pattern as matching nothing
        return ResponsesPolicy(
            enabled=True,
            all_channels=bool(raw.get("all_channels")),
            channel_ids=frozenset(_ints(raw.get("channel_ids"))),
            channel_types=frozenset(_ints(raw.get("channel_types"))),
            patterns=tuple(patterns),
        )

    def applies(self, channel: ChannelInfo, model: str) -> bool:
        if not self.enabled or not model:
            return False
        if not (self.all_channels or channel.id in self.channel_ids or channel.type in self.channel_types):
            return False
        return any(p.search(model) for p in self.patterns)


def _ints(value: object) -> list[int]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
