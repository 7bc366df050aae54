"""State shared by the worker processes of one node, in small memory-mapped files.

Granian runs each worker as its own process; what New API keeps per process but an
operator expects per node (cache generations, multi-key polling positions, the
in-memory model request limits) lives here, in files under one per-node directory.
"""
