"""New API's billing expressions (``billing_setting``, mode ``tiered_expr``), in our own parser
and evaluator: no ``eval``, bounded in length, depth and steps."""

from newapi.billing.expr.errors import ExprError
from newapi.billing.expr.program import Program, Rule, compile_expr
from newapi.billing.expr.run import Request, Trace, run

__all__ = ["ExprError", "Program", "Request", "Rule", "Trace", "compile_expr", "run"]
