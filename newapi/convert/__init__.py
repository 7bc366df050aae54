"""Conversion between the four text API families, through one neutral model.

Scheme: every family converts *to* and *from* the neutral model in :mod:`newapi.convert.model`,
never directly to another family. Each family package under :mod:`newapi.adaptors`
(``openai`` = Chat Completions, ``responses``, ``claude``, ``gemini``) has the same files:

- ``request.py``: ``parse_request(dict) -> model.Request`` and ``render_request(model.Request) -> dict``;
- ``response.py``: ``parse_response(bytes) -> model.Reply`` and ``render_response(model.Reply) -> bytes``,
  plus reading usage and errors from that family's bodies;
- ``stream.py``: a ``Reader`` (the family's stream events -> neutral stream events), a ``Writer``
  (neutral stream events -> the family's SSE bytes) and a pass-through policy for when the
  channel already speaks the caller's format.

So X -> Y is ``Y.render(X.parse(...))``: four parsers and four renderers per kind give all twelve
directions, and a new family adds one pair instead of one module per partner. The neutral model
keeps what any family can carry (thinking with signatures, tool calls with streamed arguments,
cache-control marks, each usage figure with its semantics), so a round trip through it loses only
what the target family has no place for. :mod:`newapi.convert.stream` composes a Reader and a
Writer into a stream policy; :mod:`newapi.relay.formats` (the pipeline, which alone may import
every family) picks a family by name.

Nothing here is used when the channel speaks the caller's format: then bytes pass through.
"""
