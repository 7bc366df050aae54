"""The state of one relay request as it moves through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

from newapi.billing.ledger import Hold
from newapi.billing.names import COMPACT_SUFFIX
from newapi.billing.pricing import ModelPrice, PriceBook
from newapi.billing.tiered import TieredHold
from newapi.cache.channels import Tier
from newapi.core.endpoints import Endpoint
from newapi.core.structs import ChannelInfo, TokenInfo, UserInfo
from newapi.core.usage import Usage


@dataclass(slots=True)
class Call:
    request_id: str
    endpoint: Endpoint
    path: str
    started: float  # monotonic
    created_at: int  # unix seconds
    client_ip: str
    token: TokenInfo | None = None
    user: UserInfo | None = None
    group: str = ""
    forced_channel_id: int | None = None
    body: bytes = b""
    #: ``body`` when its decode found none of the fields a channel may hold back at the top level
    #: (or in stream_options): sent as it is, it needs no search for them (adaptors.fields)
    clean_body: bytes | None = None
    content_type: str = ""
    model: str = ""
    stream: bool = False
    wants_usage: bool = False
    client_stream_options: bool = False
    max_tokens: int = 0
    n: int = 1
    size: str = ""
    quality: str = ""
    #: What a per-call price is multiplied by: ``n``, or an image request's size x quality x n.
    price_factor: float = 1.0
    #: A transcription reply's stated audio duration (0.0: none), for billing without usage.
    audio_seconds: float = 0.0
    prompt_estimate: int = 0
    price: ModelPrice | None = None
    book: PriceBook | None = None  # the prices the request was admitted at
    #: the hold's evaluation when the model is billed by expression (billing_setting)
    tiered: TieredHold | None = None
    group_ratio: float = 1.0
    tiers: tuple[Tier, ...] = ()
    hold: Hold | None = None
    tried: list[int] = field(default_factory=list)
    channel: ChannelInfo | None = None
    key_index: int = 0
    upstream_model: str = ""
    #: the format the last attempt spoke to its channel (see newapi.relay.formats), and the
    #: reasoning effort it asked for (a model-name suffix, or the client's on o-series/gpt-5)
    target: str = ""
    reasoning_effort: str = ""
    #: what the channel's param_override did to audited paths (the consume log's ``po``)
    override_audit: tuple[str, ...] = ()
    usage: Usage | None = None
    local_count: bool = False
    first_byte_at: float = 0.0
    stream_status: str = ""
    stream_error: str = ""  # why a started stream ended abnormally
    upstream_request_id: str = ""
    client_gone: bool = False
    response_started: bool = False
    #: the API format the client speaks: openai (chat and the other OpenAI endpoints),
    #: responses, claude or gemini (see newapi.relay.formats)
    fmt: str = "openai"
    action: str = ""  # Gemini: generateContent, streamGenerateContent, embedContent, ...
    sse: bool = True  # Gemini streams: alt=sse (else one JSON array)
    beta_query: bool = False  # a Claude client's ``?beta=true`` (sent on to Claude channels)
    #: the channel's system_prompt was put in front of the client's own (the log says so)
    system_prompt_overwritten: bool = False
    #: an ``auto`` token with cross-group retry: (group, tiers) in order, the position reached,
    #: and the attempt at which that group was entered (see newapi.relay.auto_group)
    auto_chain: tuple[tuple[str, tuple[Tier, ...]], ...] = ()
    auto_index: int = 0
    auto_start: int = 0

    #: remote media fetched for this request: URL -> (media type, base64), kept across retries
    media_cache: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def billing_model(self) -> str:
        """The name priced and logged: ``/v1/responses/compact`` bills ``<model>-openai-compact``."""
        return billing_model(self)


def billing_model(call: Call) -> str:
    """:attr:`Call.billing_model`, as a function for the per-request sites: on 3.11 a property
    read costs ~1k instructions (the getter runs in a frame of its own), a call a fraction."""
    if call.endpoint.name == "responses_compact":
        return call.model + COMPACT_SUFFIX
    return call.model
