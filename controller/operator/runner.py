"""`exlib run`: start Kopf with exlib's handlers, peering and metrics."""

from __future__ import annotations

import asyncio
import logging


def run(*, namespaces: list[str], peering: str | None, priority: int, peering_lifetime: int,
        metrics_port: int) -> int:
    """Run Kopf until stopped. With `peering`, the replica with the highest `priority` acts;
    `peering_lifetime` is how long the others wait for its heartbeat before taking over."""
    import kopf

    from controller.operator import handlers, metrics  # noqa: F401 - registers the handlers

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    metrics.serve(metrics_port)
    settings = kopf.OperatorSettings()
    settings.peering.lifetime = peering_lifetime
    asyncio.run(kopf.operator(
        settings=settings,
        clusterwide=not namespaces,
        namespaces=namespaces,
        standalone=peering is None,
        peering_name=peering,
        priority=priority,
    ))
    return 0
