"""Rank tables shared between worker processes: built once into a file, mapped read-only.

The compiled counter's lookup table (hash slots, 2-byte ranks, filter, token bytes; about 10 MB
for o200k_base and 6 MB for cl100k_base) used to be built with ``malloc`` in every worker. It is
now written once to ``<data dir>/cache/tokens`` (or ``$TMPDIR/newapi-<uid>/cache/tokens``) and
``mmap``-ed ``MAP_SHARED`` read-only, so the workers share one copy in the page cache and an idle
worker holds only the pages its lookups have touched.

File: a 128-byte header (magic, format, the kernel's table layout, the SHA-256 of the source
``.tiktoken`` file and of the payload, the payload length) then the payload of
``BPE.table()``. A file whose header or checksum does not match is rebuilt; it is written to a
temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
import tempfile
from typing import TYPE_CHECKING

from newapi._speedups import select
from newapi.settings import data_dir_from_env

if TYPE_CHECKING:
    from newapi._speedups import tokens as kernel
else:
    kernel = select("tokens")

__all__ = ["HEADER_SIZE", "cache_dir", "mapped_bpe", "table_path"]

MAGIC = b"NAPIRNK\x00"
FORMAT = 1
HEADER_SIZE = 128  # keeps the payload 16-byte aligned in the mapping
_HEADER = struct.Struct("<8sII32s32sQ")


def cache_dir() -> str:
    """Where the tables live: private to this user, since the kernel trusts their contents."""
    base = data_dir_from_env() or os.path.join(tempfile.gettempdir(), f"newapi-{os.getuid()}")
    return os.path.join(base, "cache", "tokens")


def table_path(name: str, source_sha256: str) -> str:
    """The file of one encoding's table for this source file and kernel layout."""
    return os.path.join(cache_dir(), f"{name}-{source_sha256[:16]}-f{FORMAT}l{kernel.TABLE_LAYOUT}.ranks")


def _private_dir(path: str) -> bool:
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.stat(path)
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _header(source_sha256: str, payload_sha256: bytes, length: int) -> bytes:
    head = _HEADER.pack(
        MAGIC, FORMAT, kernel.TABLE_LAYOUT, bytes.fromhex(source_sha256), payload_sha256, length
    )
    return head.ljust(HEADER_SIZE, b"\x00")


def _valid(path: str, source_sha256: str) -> bool:
    """Whether the file's header matches and its payload hashes to the recorded digest.

    The payload is hashed through ``read`` (page cache), not through the mapping, so checking
    does not add the whole table to this worker's resident set.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(HEADER_SIZE)
            if len(head) != HEADER_SIZE:
                return False
            magic, fmt, layout, source, digest, length = _HEADER.unpack_from(head)
            if (magic, fmt, layout, source.hex()) != (MAGIC, FORMAT, kernel.TABLE_LAYOUT, source_sha256):
                return False
            if os.fstat(f.fileno()).st_size != HEADER_SIZE + length:
                return False
            return bool(hashlib.file_digest(f, "sha256").digest() == digest)
    except OSError:
        return False


def _write(path: str, source_sha256: str, payload: bytes) -> None:
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".build-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_header(source_sha256, hashlib.sha256(payload).digest(), len(payload)))
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, path)  # atomic: concurrent builders write the same bytes
    except BaseException:
        os.unlink(tmp)
        raise


def mapped_bpe(
    name: str, source_sha256: str, ranks: bytes | None, pattern: int, classes: kernel.CharClasses
) -> kernel.BPE | None:
    """The encoding's counter over the shared mapped table, building the file if needed.

    ``ranks`` is the verified rank file (``None`` if not read yet: then a missing or stale table
    returns ``None`` and the caller reads the rank file and calls again). ``None`` is also returned
    when the cache directory cannot be used safely; the caller then builds a private table.
    """
    try:
        directory = cache_dir()
        if not _private_dir(directory):
            return None
        path = table_path(name, source_sha256)
        if not _valid(path, source_sha256):
            if ranks is None:
                return None
            _write(path, source_sha256, kernel.BPE(ranks, pattern, classes).table())
        with open(path, "rb") as f:
            mapping = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        # Lookups hop about the table: without this a fault maps its neighbours (or a whole large
        # folio) too, and one short count made 6 MB of o200k_base resident instead of a few pages.
        mapping.madvise(mmap.MADV_RANDOM)
        mapping.madvise(mmap.MADV_NOHUGEPAGE)
    except OSError:
        return None
    # The kernel keeps a view of the mapping alive; the pages stay shared and are never written.
    return kernel.BPE.mapped(memoryview(mapping)[HEADER_SIZE:], pattern, classes)
