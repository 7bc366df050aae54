"""The workers' listening sockets: one per worker slot, bound with SO_REUSEPORT to one address.

With one socket that every worker accepts from, whichever worker wakes first takes a burst of
new connections: under ``wrk -c64`` one worker of two often took most or all of them (the busier
worker's CPU share 55–100 %, bench/README.md). With a socket per slot in one SO_REUSEPORT group
the kernel hashes each new connection (its addresses and ports) to one of the sockets, so the
connections spread evenly whatever the workers are doing (evenly by count, not by load).

The supervisor opens the sockets before forking and keeps them all: a worker that dies leaves
its socket open, the connections the kernel hashes to it wait in its backlog, and its respawned
successor accepts them (closing a socket of the group would reset them; Linux moves them to a
sibling only with ``net.ipv4.tcp_migrate_req=1``). Each worker closes the other slots' copies.
With one worker, or where SO_REUSEPORT is missing or refused, all slots share one socket as
before.
"""

from __future__ import annotations

import errno
import logging
import socket
from typing import Any

log = logging.getLogger("newapi.supervisor")

_REUSEPORT: int | None = getattr(socket, "SO_REUSEPORT", None)


def bind(host: str, port: int, backlog: int) -> socket.socket:
    """A listening socket on ``host``:``port`` that no other socket may share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return _listen(family, (host, port), backlog, reuse_port=False)


def _listen(family: int, address: Any, backlog: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        if reuse_port and _REUSEPORT is not None:
            sock.setsockopt(socket.SOL_SOCKET, _REUSEPORT, 1)
        sock.bind(address)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    sock.setblocking(False)
    sock.set_inheritable(True)
    return sock


def _reuse_port_group(host: str, port: int, backlog: int, count: int) -> list[socket.socket] | None:
    """``count`` sockets in one SO_REUSEPORT group on ``host``:``port``; None if the platform refuses."""
    if _REUSEPORT is None:
        return None
    if port:
        # A socket with SO_REUSEPORT may join a group another process of this user already
        # listens in (a second gateway on the same port would then take half the connections
        # silently). A plain bind fails on any listener: the port in use is an error as before.
        bind(host, port, backlog).close()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        first = _listen(family, (host, port), backlog, reuse_port=True)
    except OSError as exc:
        if exc.errno in (errno.ENOPROTOOPT, errno.EOPNOTSUPP):
            return None
        raise
    sockets = [first]
    try:
        # The first socket's own address: a host name is resolved once, port 0 chosen once.
        for _ in range(count - 1):
            sockets.append(_listen(first.family, first.getsockname(), backlog, reuse_port=True))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Listeners:
    """The listening socket of each worker slot (all slots the same one when shared)."""

    def __init__(self, sockets: list[socket.socket], backlog: int = 128) -> None:
        self._sockets = sockets
        self._backlog = backlog
        self._address = sockets[0].getsockname()
        self._family = sockets[0].family

    @classmethod
    def open(cls, host: str, port: int, backlog: int, slots: int) -> Listeners:
        """Sockets for ``slots`` workers on ``host``:``port``; OSError (address in use...) names it."""
        try:
            group = _reuse_port_group(host, port, backlog, slots) if slots > 1 else None
            if group is None:
                if slots > 1:
                    log.info("SO_REUSEPORT is not available: the workers share one listening socket")
                return cls([bind(host, port, backlog)], backlog)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        return cls(group, backlog)

    @property
    def shared(self) -> bool:
        return len(self._sockets) == 1

    def __len__(self) -> int:
        return len(self._sockets)

    def of(self, index: int) -> socket.socket:
        """Slot ``index``'s socket."""
        return self._sockets[0 if self.shared else index]

    def keep_only(self, index: int) -> None:
        """In a worker after the fork: the other slots' copies are closed, so that a socket
        the supervisor closes stops taking connections once its own worker has closed it."""
        if not self.shared:
            for other, sock in enumerate(self._sockets):
                if other != index:
                    sock.close()

    def release(self, index: int) -> None:
        """Close slot ``index``'s socket while it has no worker for a while: the kernel hashes
        new connections over the others instead of queueing them for the wait."""
        if not self.shared:
            self._sockets[index].close()

    def renew(self, index: int) -> None:
        """A new socket for slot ``index`` if :meth:`release` closed its old one."""
        if not self.shared and self._sockets[index].fileno() == -1:
            self._sockets[index] = _listen(self._family, self._address, self._backlog, reuse_port=True)

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()
