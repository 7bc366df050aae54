"""Per-worker caches of tokens, users, channels and options (no DB query per request)."""
