"""Coze bots through the v3 chat API (``/v3/chat``, streamed), converted to and from ours."""
