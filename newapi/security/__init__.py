"""Checks on what users hand the server to act on (URLs it will call, ...)."""
