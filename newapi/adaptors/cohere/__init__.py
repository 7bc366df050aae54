"""Cohere: Chat v2 (``/v2/chat``, stream and not) and Rerank v2, converted to and from ours."""
