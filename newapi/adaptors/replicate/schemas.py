"""msgspec view of a Replicate prediction: its status, output (file URLs) and error."""

from __future__ import annotations

from typing import Any

import msgspec


class Prediction(msgspec.Struct):
    id: str | None = None
    status: str | None = None  # starting, processing, succeeded, failed, canceled
    output: Any = None  # a URL or a list of URLs for image models
    error: Any = None  # a string, or {message|detail|code}


prediction_decoder = msgspec.json.Decoder(Prediction)
