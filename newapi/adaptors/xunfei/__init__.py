"""Xunfei Spark (channel type 18): the chat protocol over an HMAC-SHA256 signed WebSocket URL."""
