"""Channel tests: one request of a chosen endpoint type through the relay's adaptor path.

Its own package so that both the management API (``/api/channel/test/:id``) and the scheduled
job (:mod:`newapi.jobs.channel_tests`) import it at module level: it imports the relay's
attempt, never the runtime (only for types) or the jobs, so no import cycle needs a function-
level import to break it.
"""

from newapi.channel_test.probes import ENDPOINT_TYPES, guess_endpoint_type, probe_for
from newapi.channel_test.run import TEST_TOKEN_NAME, TestResult, test_channel, test_model_for

__all__ = [
    "ENDPOINT_TYPES",
    "TEST_TOKEN_NAME",
    "TestResult",
    "guess_endpoint_type",
    "probe_for",
    "test_channel",
    "test_model_for",
]
