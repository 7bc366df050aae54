"""The relay: the data plane API clients call.

It composes auth, routing, adaptors, upstream, streaming and billing.
"""
