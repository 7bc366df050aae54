"""Relaying server-sent event streams: scan, pass through or convert, bound memory, end honestly."""
