"""Vertex AI channels (type 41): Gemini and Claude models, by service-account OAuth token or API key."""
