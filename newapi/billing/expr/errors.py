"""The one error a billing expression raises, when it is read and when it runs."""

from __future__ import annotations


class ExprError(ValueError):
    """The expression is malformed, refers to something unknown, or failed on these inputs."""
