"""What a notification carries, and to whom."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# New API's notification types (dto.NotifyType*).
QUOTA_EXCEED = "quota_exceed"
CHANNEL_UPDATE = "channel_update"
CHANNEL_TEST = "channel_test"


@dataclass(slots=True)
class Notice:
    type: str
    title: str
    #: may hold ``{{value}}`` placeholders, filled from ``values`` in order (the webhook gets both)
    content: str
    values: list[Any] = field(default_factory=list)
    timestamp: int = field(default_factory=lambda: int(time.time()))

    def text(self) -> str:
        """The content with its placeholders filled, for email, Bark and Gotify."""
        text = self.content
        for value in self.values:
            text = text.replace("{{value}}", str(value), 1)
        return text


@dataclass(slots=True)
class Recipient:
    """A user as notifications need them: the account email and the ``users.setting`` JSON."""

    user_id: int
    email: str
    setting: dict[str, Any]
