"""Price tables: New API's ratio and price options, parsed once per options version.

Defaults are New API's built-in maps (``setting/ratio_setting/model_ratio.go`` and
``cache_ratio.go``), shipped as ``pricing_defaults.json``. A stored option replaces its whole
map, as New API's ``UpdateXByJSONString`` does (``LoadFromJsonStringWithCallback`` clears the
map, then unmarshals); only ``tool_price_setting.prices`` is merged over its defaults, as
New API's ``RebuildToolPriceIndex`` merges it.

Lookups follow New API (``relay/helper/price.go ModelPriceHelper``): the model name is
normalised (:mod:`newapi.billing.names`); a ``ModelPrice`` entry (US$ per call) wins over
``ModelRatio``; ``CacheRatio``, ``CreateCacheRatio`` and ``ImageRatio`` match the billed name
exactly, without normalisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from newapi.billing.names import (
    completion_ratio,
    gemini_audio_input_price,
    lookup_with_compact,
    normalize_model_name,
)
from newapi.options.store import OptionStore

DEFAULTS: dict[str, Any] = orjson.loads(Path(__file__).with_name("pricing_defaults.json").read_bytes())

#: The ratio New API bills an unpriced model at in self-use mode (or when the user accepts it).
UNSET_MODEL_RATIO = 37.5
DEFAULT_CACHE_RATIO = 1.0
DEFAULT_CREATE_CACHE_RATIO = 1.25
DEFAULT_QUOTA_PER_UNIT = 500_000.0
DEFAULT_PRE_CONSUMED_QUOTA = 500
# Distinct model names memoised per book; past this, lookups are computed each time, so a
# flood of made-up model names cannot grow a worker's memory.
_MEMO_LIMIT = 8192

_FLOAT_MAPS = (
    "ModelRatio",
    "CompletionRatio",
    "CacheRatio",
    "CreateCacheRatio",
    "ModelPrice",
    "ImageRatio",
    "AudioRatio",
    "AudioCompletionRatio",
    "GroupRatio",
)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """What one model costs, resolved once per options version.

    In price mode (``per_call_usd`` set) every ratio is 0, as in New API's ``PriceData``:
    no token is priced. In ratio mode an unset cache ratio is 1 (cached tokens cost the
    input price) and an unset cache-write ratio 1.25.
    """

    model: str
    per_call_usd: float | None
    model_ratio: float
    completion_ratio: float
    cache_ratio: float
    create_cache_ratio: float
    image_ratio: float
    audio_ratio: float
    audio_completion_ratio: float
    #: AudioRatio has an entry, so usage with audio tokens takes New API's audio formula.
    has_audio_ratio: bool = False
    #: US$ per 1M audio input tokens billed apart from text (Gemini), 0 when not separate.
    audio_input_usd_per_m: float = 0.0
    #: A hard-coded completion ratio overrode the CompletionRatio option.
    completion_ratio_locked: bool = False


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    # Negative or non-finite prices are refused on save; one arriving from a hand-edited
    # database is ignored rather than allowed to turn a charge into a credit.
    return number if math.isfinite(number) and number >= 0 else None


def _float_map(raw: object) -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(raw, dict):
        for name, value in raw.items():
            number = _number(value)
            if number is not None:
                out[str(name)] = number
    return out


def _option_json(options: OptionStore, key: str) -> Any:
    """The stored JSON of ``key``, or New API's default when unset or unreadable."""
    raw = options.get(key)
    if raw:
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    return DEFAULTS[key]


class PriceBook:
    """Every price input of one options version, with per-model results memoised."""

    __slots__ = (
        "_audio",
        "_audio_completion",
        "_cache",
        "_completion",
        "_create_cache",
        "_group",
        "_group_group",
        "_image",
        "_memo",
        "_model_price",
        "_model_ratio",
        "_tool_defaults",
        "_tool_prefixes",
        "_unset_memo",
        "pre_consumed_quota",
        "quota_per_unit",
        "self_use_mode",
    )

    def __init__(
        self,
        tables: dict[str, dict[str, float]],
        group_group_ratio: dict[str, dict[str, float]],
        tool_prices: dict[str, float],
        *,
        quota_per_unit: float = DEFAULT_QUOTA_PER_UNIT,
        pre_consumed_quota: int = DEFAULT_PRE_CONSUMED_QUOTA,
        self_use_mode: bool = False,
    ) -> None:
        self._model_ratio = tables["ModelRatio"]
        self._completion = tables["CompletionRatio"]
        self._cache = tables["CacheRatio"]
        self._create_cache = tables["CreateCacheRatio"]
        self._model_price = tables["ModelPrice"]
        self._image = tables["ImageRatio"]
        self._audio = tables["AudioRatio"]
        self._audio_completion = tables["AudioCompletionRatio"]
        self._group = tables["GroupRatio"]
        self._group_group = group_group_ratio
        self.quota_per_unit = quota_per_unit
        self.pre_consumed_quota = pre_consumed_quota
        self.self_use_mode = self_use_mode
        self._tool_defaults: dict[str, float] = {}
        self._tool_prefixes: dict[str, list[tuple[str, float]]] = {}
        for key, usd in tool_prices.items():
            tool, colon, model_part = key.partition(":")
            if colon:
                self._tool_prefixes.setdefault(tool, []).append((model_part.removesuffix("*"), usd))
            else:
                self._tool_defaults[key] = usd
        for entries in self._tool_prefixes.values():
            entries.sort(key=lambda entry: (-len(entry[0]), entry[0]))  # longest prefix wins
        self._memo: dict[str, ModelPrice | None] = {}
        self._unset_memo: dict[str, ModelPrice] = {}

    @classmethod
    def from_options(cls, options: OptionStore) -> PriceBook:
        tables = {key: _float_map(_option_json(options, key)) for key in _FLOAT_MAPS}
        nested: dict[str, dict[str, float]] = {}
        for user_group, ratios in _option_json(options, "GroupGroupRatio").items():
            nested[str(user_group)] = _float_map(ratios)
        tools = _float_map(DEFAULTS["tool_price_setting.prices"])
        tools.update(_float_map(_option_json(options, "tool_price_setting.prices")))
        quota_per_unit = options.get_float("QuotaPerUnit", DEFAULT_QUOTA_PER_UNIT)
        if not (math.isfinite(quota_per_unit) and quota_per_unit > 0):
            quota_per_unit = DEFAULT_QUOTA_PER_UNIT
        return cls(
            tables,
            nested,
            tools,
            quota_per_unit=quota_per_unit,
            pre_consumed_quota=max(0, options.get_int("PreConsumedQuota", DEFAULT_PRE_CONSUMED_QUOTA)),
            self_use_mode=options.get_bool("SelfUseModeEnabled"),
        )

    def price(self, model: str, *, accept_unset: bool = False) -> ModelPrice | None:
        """The price of ``model``, or None when it is not configured.

        New API rejects an unconfigured model ("price not configured") unless self-use mode
        is on or the user set ``accept_unset_model_ratio_model`` (``accept_unset``); then the
        model ratio is 37.5.
        """
        try:
            found = self._memo[model]
        except KeyError:
            found = self._resolve(model, unset_ok=self.self_use_mode)
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[model] = found
        if found is None and accept_unset:
            found = self._unset_memo.get(model)
            if found is None:
                found = self._resolve(model, unset_ok=True)
                assert found is not None
                if len(self._unset_memo) < _MEMO_LIMIT:
                    self._unset_memo[model] = found
        return found

    def _resolve(self, name: str, *, unset_ok: bool) -> ModelPrice | None:
        key = normalize_model_name(name)
        per_call = lookup_with_compact(self._model_price, key)
        if per_call is not None:
            return ModelPrice(key, per_call, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        ratio = lookup_with_compact(self._model_ratio, key)
        if ratio is None:
            if not unset_ok:
                return None
            ratio = UNSET_MODEL_RATIO
        completion, locked = completion_ratio(key, self._completion)
        audio = self._audio.get(key)
        return ModelPrice(
            model=key,
            per_call_usd=None,
            model_ratio=ratio,
            completion_ratio=completion,
            cache_ratio=self._cache.get(name, DEFAULT_CACHE_RATIO),
            create_cache_ratio=self._create_cache.get(name, DEFAULT_CREATE_CACHE_RATIO),
            image_ratio=self._image.get(name, 1.0),
            audio_ratio=1.0 if audio is None else audio,
            audio_completion_ratio=self._audio_completion.get(key, 1.0),
            has_audio_ratio=audio is not None,
            audio_input_usd_per_m=gemini_audio_input_price(name),
            completion_ratio_locked=locked,
        )

    def group_ratio(self, user_group: str, using_group: str) -> float:
        """GroupGroupRatio[user_group][using_group] when set, else GroupRatio[using_group], else 1."""
        special = self._group_group.get(user_group)
        if special is not None:
            ratio = special.get(using_group)
            if ratio is not None:
                return ratio
        return self._group.get(using_group, 1.0)

    def special_group_ratio(self, user_group: str, using_group: str) -> float | None:
        """The GroupGroupRatio override, if any (logged as ``user_group_ratio``)."""
        special = self._group_group.get(user_group)
        return None if special is None else special.get(using_group)

    def tool_price(self, tool: str, model: str) -> float:
        """US$ per 1,000 calls of a built-in tool: longest ``tool:prefix*`` match, else the default."""
        for prefix, usd in self._tool_prefixes.get(tool, ()):
            if model.startswith(prefix):
                return usd
        return self._tool_defaults.get(tool, 0.0)


# One function object, so the store's memo finds it again (it is keyed by the function).
_build = PriceBook.from_options


def price_book(options: OptionStore) -> PriceBook:
    """The :class:`PriceBook` of the store's current options version (built once per version)."""
    return options.derived(_build)
