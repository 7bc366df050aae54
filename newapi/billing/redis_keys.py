"""The Redis ledger's key names and Lua scripts, shared by the ledger, its flusher and its reaper."""

from __future__ import annotations

from importlib import resources


def script_source(name: str) -> str:
    return resources.files("newapi.billing").joinpath("lua", name).read_text()


class LedgerKeys:
    """Key names under one prefix (tests use a throwaway prefix per run)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = f"{prefix}ledger:"
        self.holds = self.prefix + "holds"
        self.stream = self.prefix + "debits"
        self.lease = self.prefix + "flusher:lease"
        self.backlog = self.prefix + "backlog"  # settlements in the stream not yet flushed
        self.workers = self.prefix + "workers"  # the workers that renew a liveness key

    def alive(self, worker: str) -> str:
        return f"{self.prefix}alive:{worker}"

    def reaping(self, worker: str) -> str:
        return f"{self.prefix}reaping:{worker}"

    def user(self, user_id: int) -> str:
        return f"{self.prefix}bal:u:{user_id}"

    def token(self, token_id: int) -> str:
        return f"{self.prefix}bal:t:{token_id}"

    def hold(self, request_id: str) -> str:
        return f"{self.prefix}hold:{request_id}"
