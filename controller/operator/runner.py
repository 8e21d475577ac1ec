"""`exlib run`: start Kopf with exlib's handlers, peering and metrics."""

from __future__ import annotations

import asyncio
import logging


def run(*, namespaces: list[str], peering: str | None, priority: int, metrics_port: int) -> int:
    import kopf

    from controller.operator import handlers, metrics  # noqa: F401 - registers the handlers

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    metrics.serve(metrics_port)
    asyncio.run(kopf.operator(
        clusterwide=not namespaces,
        namespaces=namespaces,
        standalone=peering is None,
        peering_name=peering,
        priority=priority,
    ))
    return 0
