"""Model-name rules of New API's price lookups (``setting/ratio_setting/model_ratio.go``).

Pure functions of a name. :class:`~newapi.billing.pricing.PriceBook` calls them once per
distinct model name and memoises the result, so none of this runs per request.
"""

from __future__ import annotations

from collections.abc import Mapping

#: ``/v1/responses/compact`` bills ``<model>-openai-compact``; a missing exact entry falls back
#: to the single wildcard key (``compact_suffix.go``).
COMPACT_SUFFIX = "-openai-compact"
COMPACT_WILDCARD = "*" + COMPACT_SUFFIX

_THINKING_BUDGET_FAMILIES = (
    # Longest prefix first: "gemini-2.5-flash-lite" also starts with "gemini-2.5-flash".
    ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite-thinking-*"),
    ("gemini-2.5-flash", "gemini-2.5-flash-thinking-*"),
    ("gemini-2.5-pro", "gemini-2.5-pro-thinking-*"),
)


def normalize_model_name(name: str) -> str:
    """New API's ``FormatMatchingModelName``: the key a model is priced under.

    Gemini 2.5 names carrying a thinking budget (``...-thinking-<N>``) share one wildcard
    price, and every custom GPT shares the gizmo wildcard.
    """
    for prefix, wildcard in _THINKING_BUDGET_FAMILIES:
        if name.startswith(prefix):
            if "-thinking-" in name:
                name = wildcard
            break
    if name.startswith("gpt-4-gizmo"):
        return "gpt-4-gizmo-*"
    if name.startswith("gpt-4o-gizmo"):
        return "gpt-4o-gizmo-*"
    return name


def lookup_with_compact(table: Mapping[str, float], key: str) -> float | None:
    """``table[key]``, else the ``*-openai-compact`` entry for a compact-suffixed key."""
    value = table.get(key)
    if value is None and key.endswith(COMPACT_SUFFIX):
        value = table.get(COMPACT_WILDCARD)
    return value


_COMMAND_LOCKED = {
    "command-r": 3.0,
    "command-r-plus": 5.0,
    "command-r-08-2024": 4.0,
    "command-r-plus-08-2024": 4.0,
}
_CLAUDE_FAMILIES = (
    "claude-sonnet-4",
    "claude-opus-4",
    "claude-haiku-4",
    "claude-fable-5",
    "claude-sonnet-5",
    "claude-opus-5",
)
_ERNIE_PREFIXES = ("ERNIE-Speed-", "ERNIE-Lite-", "ERNIE-Character", "ERNIE-Functions")
# Go evaluates these quotients as exact constants and rounds once; n/d of the integers does too.
_LLAMA_LOCKED = {"llama2-70b-4096": 80 / 64, "llama3-8b-8192": 2.0, "llama3-70b-8192": 79 / 59}


def _gemini_completion_ratio(name: str) -> tuple[float, bool]:
    if name.startswith(("gemini-1.5", "gemini-2.0")):
        return 4.0, True
    if name.startswith("gemini-2.5-pro"):
        return 8.0, False
    if name.startswith("gemini-2.5-flash"):
        if name.startswith("gemini-2.5-flash-preview"):
            return (4.0, False) if name.endswith("-nothinking") else (70 / 3, False)  # 3.5 / 0.15
        if name.startswith("gemini-2.5-flash-lite"):
            return 4.0, False
        return 25 / 3, False  # 2.5 / 0.3
    if name.startswith("gemini-robotics-er-1.5"):
        return 25 / 3, False
    if name.startswith("gemini-3-pro"):
        return (60.0, False) if name.startswith("gemini-3-pro-image") else (6.0, False)
    return 4.0, False


def _gpt_completion_ratio(name: str) -> tuple[float, bool]:
    if name.startswith("gpt-4o"):
        if name == "gpt-4o-2024-05-13":
            return 3.0, True
        if name.startswith("gpt-4o-mini-tts"):
            return 20.0, False
        return 4.0, False
    if name.startswith("gpt-5"):
        if "." not in name:
            return 8.0, True
        if name.startswith("gpt-5.4-nano"):
            return 6.25, True
        if name.startswith("gpt-5.4"):
            return 6.0, True
        return 6.0, False
    if name.startswith("gpt-4.5-preview"):
        return 2.0, True
    if name.startswith("gpt-4-turbo") or name.endswith(("gpt-4-1106", "gpt-4-1105")):
        return 3.0, True
    # gpt-4, gpt-4.1*, and gpt-3.5* too: New API's later gpt-3.5 branch is unreachable.
    return 2.0, False


def hardcoded_completion_ratio(name: str) -> tuple[float, bool]:
    """``getHardcodedCompletionModelRatio`` of a normalised name: ``(ratio, locked)``.

    A locked ratio wins over the ``CompletionRatio`` option (except for names containing
    ``/``); an unlocked one is only the fallback when the option has no entry.
    """
    if name.endswith(("-all", "-gizmo-*")):
        return 2.0, False
    if name.startswith("gpt-"):
        return _gpt_completion_ratio(name)
    if name.startswith(("o1", "o3")):
        return 4.0, True
    if name == "chatgpt-4o-latest":
        return 3.0, True
    if "claude-3" in name or any(family in name for family in _CLAUDE_FAMILIES):
        return 5.0, True
    if name.startswith("mistral-"):
        return 3.0, True
    if name.startswith("gemini-"):
        return _gemini_completion_ratio(name)
    if name.startswith("command"):
        locked = _COMMAND_LOCKED.get(name)
        return (locked, True) if locked is not None else (4.0, False)
    if name.startswith(_ERNIE_PREFIXES):
        return 2.0, True
    llama = _LLAMA_LOCKED.get(name)
    if llama is not None:
        return llama, True
    return 1.0, False


def completion_ratio(name: str, configured: Mapping[str, float]) -> tuple[float, bool]:
    """``GetCompletionRatioInfo`` of a normalised name against the ``CompletionRatio`` map.

    Returns ``(ratio, locked)``; locked is true only when a hard-coded rule overrode the map.
    """
    if "/" in name:
        # Vendor-prefixed names (OpenRouter style) may always be repriced by the admin.
        value = configured.get(name)
        if value is not None:
            return value, False
    ratio, locked = hardcoded_completion_ratio(name)
    if locked:
        return ratio, True
    value = configured.get(name)
    return (value, False) if value is not None else (ratio, False)


def gemini_audio_input_price(name: str) -> float:
    """US$ per 1M audio input tokens that Gemini bills apart from text (0 = not separate).

    ``GetGeminiInputAudioPricePerMillionTokens``, matched on the billed (unnormalised) name.
    """
    if not name.startswith("gemini-"):
        return 0.0
    if name.startswith("gemini-2.5-flash-preview-native-audio"):
        return 3.0
    if name.startswith("gemini-2.5-flash-preview-lite"):
        return 0.5
    if name.startswith("gemini-2.5-flash"):
        return 1.0
    if name.startswith("gemini-2.0-flash"):
        return 0.7
    if name.startswith("gemini-robotics-er-1.5"):
        return 1.0
    return 0.0
