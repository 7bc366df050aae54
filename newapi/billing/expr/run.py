"""Evaluating a compiled billing expression against token counts and the request.

The program's closures (:mod:`.closures`) do the work; this adds the inputs, the trace, and
the rule that the result must be a number (New API compiles with ``AsFloat64``). Only
:class:`ExprError` leaves here.
"""

from __future__ import annotations

from collections.abc import Mapping

from newapi.billing.expr import values
from newapi.billing.expr.errors import ExprError
from newapi.billing.expr.program import Program
from newapi.billing.expr.state import Request, State, Trace

__all__ = ["Request", "Trace", "run"]


def run(program: Program, tokens: Mapping[str, float], request: Request | None = None) -> tuple[float, Trace]:
    """The expression's value (US$ per 1M tokens scale) and its trace."""
    trace = Trace(matched=[False] * len(program.rules))
    env = {name: float(tokens.get(name, 0.0)) for name in program.used_vars}
    try:
        result = program.fn(State(env, request or Request(), trace))
    except RecursionError:
        raise ExprError("the expression is nested too deeply") from None
    if not values.is_number(result):
        raise ExprError(f"the expression gives {values.type_name(result)}, not a number")
    return float(result), trace
