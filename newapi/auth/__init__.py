"""Relay authentication: reading the key, checking the token, the user and the group."""
