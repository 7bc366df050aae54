"""The relay: the data plane API clients call. Composes auth, routing, adaptors, upstream, streaming, billing."""
