"""``vbt worker``: the HTTP job service (``vbt.worker``)."""

from __future__ import annotations

import argparse

from vbt.worker.settings import WorkerSettings


def run(args: argparse.Namespace) -> int:
    from vbt.worker.server import serve  # the server's stack: not needed by the parser

    serve(worker_settings(args))
    return 0


def worker_settings(args: argparse.Namespace) -> WorkerSettings:
    """The WorkerSettings of ``vbt worker`` (flags first, then the environment)."""
    return WorkerSettings.from_env(
        models_root=args.models_root, data_root=args.data_root, state_dir=args.state_dir,
        host=args.host, port=args.port, max_concurrent=args.max_concurrent,
        max_queue=args.max_queue, max_body_bytes=args.max_body_bytes,
        checkpoint_bars=args.checkpoint_bars, chunk_delay_s=args.chunk_delay,
        ray_address=args.ray_address, backend_url=args.backend_url, worker_id=args.worker_id,
        public_url=args.public_url, health_check_timeout_s=args.health_check_timeout,
        trusted_networks=tuple(args.trusted_network or ()),
    )  # fmt: skip
