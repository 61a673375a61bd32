"""Operating the publisher: log lines, health checks, metrics and the service manager.

Nothing here decides what is published; it reports what the publisher did
(:mod:`scheduler.ops.events`), whether it is alive (:mod:`scheduler.ops.health`), and
speaks to systemd (:mod:`scheduler.ops.sdnotify`) and Prometheus
(:mod:`scheduler.ops.metrics`).
"""
