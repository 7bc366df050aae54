"""New API's ``auto`` token group (reference §3.2 step 5).

The groups tried are ``AutoGroups`` (those the user may use), or the token's own ``auto_groups``
(filtered the same way, at most ``MaxTokenAutoGroups``, default 5). The request goes to the first
group with a channel for the model. With the token's ``cross_group_retry``, retries walk that
group's priority tiers and then move to the next group with a channel, tier by tier; the group a
channel was picked from is the one billed (its group ratio).
"""

from __future__ import annotations

from newapi.cache.channels import ChannelIndex, Tier
from newapi.core.errors import NoChannel
from newapi.core.structs import ChannelInfo, TokenInfo
from newapi.options.groups import usable_groups
from newapi.options.store import OptionStore
from newapi.relay.call import Call
from newapi.relay.routable import routable
from newapi.routing.select import pick_channel, tiers_for

DEFAULT_MAX_TOKEN_AUTO_GROUPS = 5


def auto_groups(options: OptionStore, user_group: str, token: TokenInfo | None) -> list[str]:
    """The ordered groups an ``auto`` request may use."""
    usable = usable_groups(options, user_group)
    own = token.auto_groups if token is not None else None
    if own is None:
        candidates = options.get_json("AutoGroups", ["default"]) or []
        limit = len(candidates)
    else:
        candidates = list(own)
        limit = options.get_int("MaxTokenAutoGroups", DEFAULT_MAX_TOKEN_AUTO_GROUPS)
        limit = limit if limit > 0 else DEFAULT_MAX_TOKEN_AUTO_GROUPS
    groups: list[str] = []
    for group in candidates:
        if isinstance(group, str) and group != "auto" and group in usable and group not in groups:
            groups.append(group)
            if len(groups) == limit:
                break
    return groups


def route_auto(options: OptionStore, index: ChannelIndex, call: Call) -> None:
    """Set the request's group and tiers (and, for cross-group retry, the groups after it)."""
    assert call.user is not None
    chain: list[tuple[str, tuple[Tier, ...]]] = []
    for group in auto_groups(options, call.user.group, call.token):
        tiers = routable(tiers_for(index, group, call.model), call.path, call.model)
        if tiers:
            chain.append((group, tiers))
            if call.token is None or not call.token.cross_group_retry:
                break
    if not chain:
        raise NoChannel(f"no available channel for model {call.model} under group auto")
    call.group, call.tiers = chain[0]
    call.auto_chain = tuple(chain) if len(chain) > 1 else ()


def pick_across_groups(call: Call, attempt: int) -> ChannelInfo | None:
    """The channel for ``attempt``: the current group's next tier, else the next group's first."""
    tried = frozenset(call.tried)
    while call.auto_index < len(call.auto_chain):
        group, tiers = call.auto_chain[call.auto_index]
        local = attempt - call.auto_start
        channel = pick_channel(tiers, local, tried) if local < len(tiers) else None
        if channel is not None:
            if group != call.group:
                call.group, call.tiers = group, tiers
                if call.book is not None and call.user is not None:
                    call.group_ratio = call.book.group_ratio(call.user.group, group)
            return channel
        call.auto_index += 1  # this group's priorities are exhausted: the next group, first tier
        call.auto_start = attempt
    return None
