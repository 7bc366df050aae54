"""A mock upstream LLM provider (OpenAI, Azure OpenAI, Anthropic, Gemini, AWS Bedrock, Vertex AI)
serving real HTTP/1.1.

Tests start :class:`MockUpstream` in-process (or :class:`MockUpstreamThread` from sync code); the
load benchmark runs ``python -m newapi.testing.mock`` (prints ``LISTENING <port>``). Fault
directives are documented in :mod:`newapi.testing.mock.faults`, the usage formula in
:mod:`newapi.testing.mock.usage`, the control endpoints in :mod:`newapi.testing.mock.control`,
the Bedrock and Vertex routes (with their SigV4 and OAuth checks) in :mod:`newapi.testing.mock.cloud`.

A reply is a tool call when the request offers tools and its last user message contains
"call a tool" (or the ``tool-call`` directive is set); the first tool offered is called with
arguments that fit its schema, the generated pieces in its first free-text string
(:mod:`newapi.testing.mock.tool_args`; ``{"query": "<the generated pieces>"}`` when the schema
declares no properties). A request whose last message is a tool result (OpenAI ``role: tool``,
a Claude ``tool_result`` block, a Gemini ``functionResponse``, a Responses
``function_call_output``) is answered with text, directive or not, so an agent's loop ends.
"""

from newapi.testing.mock.context import MockConfig
from newapi.testing.mock.faults import Faults
from newapi.testing.mock.record import RequestRecord
from newapi.testing.mock.server import MockUpstream
from newapi.testing.mock.thread import MockUpstreamThread
from newapi.testing.mock.usage import Usage

__all__ = ["Faults", "MockConfig", "MockUpstream", "MockUpstreamThread", "RequestRecord", "Usage"]
