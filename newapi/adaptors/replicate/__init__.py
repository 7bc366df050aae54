"""Replicate: image generation through the predictions API (``Prefer: wait``), as New API serves it."""
