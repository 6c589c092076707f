"""``GET /metrics``: the worker's state in the Prometheus text format (no client library)."""

from __future__ import annotations

from typing import Any

from vbt.worker.store import STATUSES


def prometheus_text(counts: dict[tuple[str, str], int], kinds: dict[str, Any], settings: Any,
                    uptime_s: float) -> str:  # fmt: skip
    """Jobs by kind and status, running and waiting jobs, the limits, and the uptime."""
    lines = [
        "# HELP vbt_worker_jobs Jobs in the store, by kind and status.",
        "# TYPE vbt_worker_jobs gauge",
    ]
    for kind in kinds:
        for status in STATUSES:
            n = counts.get((kind, status), 0)
            lines.append(f'vbt_worker_jobs{{kind="{kind}",status="{status}"}} {n}')
    running = sum(n for (_, s), n in counts.items() if s == "running")
    pending = sum(n for (_, s), n in counts.items() if s == "pending")
    gauges = (
        ("vbt_worker_running_jobs", "Jobs running now.", running),
        ("vbt_worker_queued_jobs", "Jobs waiting for a slot.", pending),
        ("vbt_worker_max_concurrent", "Jobs that may run at once.", settings.max_concurrent),
        ("vbt_worker_max_queue", "Jobs that may wait.", settings.max_queue),
        ("vbt_worker_uptime_seconds", "Seconds since this worker started.", round(uptime_s, 3)),
    )
    for name, help_text, value in gauges:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
    return "\n".join(lines) + "\n"
