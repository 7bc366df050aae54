"""Advanced Custom routes (reference §2.3): ``settings.advanced_custom.advanced_routes``.

Each route has an ``incoming_path`` (exact, with a ``{model}`` placeholder; Gemini's
``:generateContent`` and ``:streamGenerateContent`` count as one path), an ``upstream_path``, a
``converter`` naming the source and target API families, ``models`` (names or ``re:`` regexes,
empty for every model) and ``auth`` (``none``, ``header`` or ``query`` with a name and a value,
``{api_key}`` in the value standing for the channel's key, an empty value for the key itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from newapi.core.structs import ChannelInfo

#: converter -> (the family the client must speak, the family sent upstream); "none": as it came
CONVERTERS: dict[str, tuple[str, str]] = {
    "anthropic_messages_to_openai_chat_completions": ("claude", "openai"),
    "openai_chat_completions_to_anthropic_messages": ("openai", "claude"),
    "openai_chat_completions_to_openai_responses": ("openai", "responses"),
    "openai_responses_to_openai_chat_completions": ("responses", "openai"),
    "openai_responses_to_gemini_generate_content": ("responses", "gemini"),
    "gemini_generate_content_to_openai_chat_completions": ("gemini", "openai"),
    "openai_chat_completions_to_gemini_generate_content": ("openai", "gemini"),
}


@dataclass(frozen=True, slots=True)
class Route:
    incoming: re.Pattern[str]
    upstream_path: str
    converter: str
    models: tuple[str, ...]
    auth: dict[str, Any]

    def serves(self, model: str) -> bool:
        if not self.models:
            return True
        for entry in self.models:
            if entry.startswith(("re:", "regex:")):
                if re.fullmatch(entry.split(":", 1)[1], model):
                    return True
            elif entry == model:
                return True
        return False


def _pattern(path: str) -> re.Pattern[str]:
    text = re.escape(path.replace(":streamGenerateContent", ":generateContent"))
    return re.compile(text.replace(re.escape("{model}"), "[^/:]+") + "$")


def routes(channel: ChannelInfo) -> list[Route]:
    config = channel.other_settings.get("advanced_custom")
    items = config.get("advanced_routes") if isinstance(config, dict) else None
    out: list[Route] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not item.get("incoming_path") or not item.get("upstream_path"):
            continue
        models = item.get("models") or []
        auth = item.get("auth")
        out.append(
            Route(
                _pattern(str(item["incoming_path"])),
                str(item["upstream_path"]),
                str(item.get("converter") or "none"),
                tuple(str(m) for m in (models if isinstance(models, list) else [models]) if m),
                auth if isinstance(auth, dict) else {},
            )
        )
    return out


def match(channel: ChannelInfo, path: str, model: str) -> Route | None:
    """The first route whose incoming path and models take this request."""
    path = path.replace(":streamGenerateContent", ":generateContent")
    return next((r for r in routes(channel) if r.incoming.match(path) and r.serves(model)), None)


def families(route: Route, client: str) -> tuple[str, str] | None:
    """(source, target) of the route's converter; None when the client speaks another family."""
    if route.converter == "none":
        return client, client
    pair = CONVERTERS.get(route.converter)
    return pair if pair is not None and pair[0] == client else None


def upstream(
    route: Route, channel: ChannelInfo, key: str, model: str
) -> tuple[str, list[tuple[bytes, bytes]]]:
    """The route's URL (``{model}`` filled) and its auth headers (or query parameter)."""
    url = channel.base_url.rstrip("/") + route.upstream_path.replace("{model}", quote(model, safe=""))
    kind = str(route.auth.get("type") or "none")
    name = str(route.auth.get("name") or "")
    value = str(route.auth.get("value") or "").replace("{api_key}", key) or key
    if kind == "header" and name:
        return url, [(name.lower().encode("latin-1"), value.encode("latin-1"))]
    if kind == "query" and name:
        return url + ("&" if "?" in url else "?") + f"{quote(name)}={quote(value)}", []
    return url, []
