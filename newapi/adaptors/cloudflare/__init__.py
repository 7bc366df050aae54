"""Cloudflare Workers AI's own model API (``/ai/run/{model}``), for what its OpenAI-compatible
API does not serve: legacy completions and Whisper transcriptions, as New API sends them."""
