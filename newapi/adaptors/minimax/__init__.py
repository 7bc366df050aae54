"""MiniMax: Chat Completions v2 (OpenAI's shape with ``base_resp``), and its Anthropic-compatible API."""
