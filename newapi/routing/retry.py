"""Whether a failed attempt may be retried, and New API's status-code mapping."""

from __future__ import annotations

from newapi.core.errors import GatewayError, UpstreamError, UpstreamProtocolError, UpstreamStatusError
from newapi.options.defaults import DEFAULT_RETRY_STATUS_CODES
from newapi.options.store import OptionStore


def parse_ranges(spec: str) -> tuple[tuple[int, int], ...]:
    ranges = []
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            a = int(low)
            b = int(high) if high else a
        except ValueError:
            continue
        ranges.append((a, b))
    return tuple(ranges)


def _retry_ranges(options: OptionStore) -> tuple[tuple[int, int], ...]:
    return parse_ranges(
        options.get("AutomaticRetryStatusCodes", DEFAULT_RETRY_STATUS_CODES) or DEFAULT_RETRY_STATUS_CODES
    )


def retry_ranges(options: OptionStore) -> tuple[tuple[int, int], ...]:
    return options.derived(_retry_ranges)


def in_ranges(status: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= status <= high for low, high in ranges)


def should_retry(error: GatewayError, ranges: tuple[tuple[int, int], ...]) -> bool:
    """New API's rule (reference §3.3), for an attempt whose output never reached the client."""
    if not isinstance(error, UpstreamError):
        return False  # local, conversion, quota and mapping errors are never retried
    if error.channel_error:
        return True
    if isinstance(error, UpstreamProtocolError):
        return False  # bad_response_body
    if not isinstance(error, UpstreamStatusError):
        return True  # connect failures and timeouts before any byte reached the client
    status = error.status
    if 200 <= status < 300:
        return False
    if status < 100 or status > 599:
        return True
    if status in (504, 524):
        return False
    return in_ranges(status, ranges)


def map_status(status: int, mapping: dict[str, str]) -> int:
    """A channel's ``status_code_mapping``, applied before retry/disable decisions and the client."""
    if not mapping:
        return status
    target = mapping.get(str(status))
    if target is None:
        return status
    try:
        mapped = int(target)
    except ValueError:
        return status
    return mapped if 100 <= mapped <= 599 else status
