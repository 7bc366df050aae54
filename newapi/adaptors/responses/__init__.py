"""OpenAI's Responses API (``/v1/responses``): OpenAI-type channels and Codex-style clients."""
