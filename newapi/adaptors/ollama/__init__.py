"""Ollama's native API: ``/api/chat`` (NDJSON stream), ``/api/embed``, converted to and from ours."""
