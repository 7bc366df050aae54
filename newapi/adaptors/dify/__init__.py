"""Dify apps through their chat-messages API (blocking and streaming), converted to and from ours."""
