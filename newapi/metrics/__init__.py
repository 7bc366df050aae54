"""Prometheus metrics: per-worker plain aggregates on the hot path, folded each second into
prometheus-client's multiprocess files, summed over every worker of the node at ``GET /metrics``."""
