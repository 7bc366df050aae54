"""Runtime options: New API's ``options`` table, defaults, and a typed snapshot."""
