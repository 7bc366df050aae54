"""Test and benchmark helpers that ship with newapi (nothing here runs in the gateway)."""

from newapi.testing.mock import MockConfig, MockUpstream, MockUpstreamThread, RequestRecord

__all__ = ["MockConfig", "MockUpstream", "MockUpstreamThread", "RequestRecord"]
