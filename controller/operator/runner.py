"""`exlib run`: start Kopf with exlib's handlers for one scope, peering and metrics."""

from __future__ import annotations

import asyncio
import logging

from controller.operator.scope import Scope


def run(*, scope: Scope, peering: str | None, priority: int, peering_lifetime: int,
        metrics_port: int) -> int:
    """Run Kopf until stopped, acting on the objects of `scope` only. With `peering`, the
    replica with the highest `priority` acts; `peering_lifetime` is how long the others wait
    for its heartbeat before taking over."""
    import kopf

    from controller.operator import handlers, metrics

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    metrics.serve(metrics_port)
    settings = kopf.OperatorSettings()
    settings.peering.lifetime = peering_lifetime
    asyncio.run(kopf.operator(
        registry=handlers.registry(scope),
        settings=settings,
        clusterwide=not scope.namespaces,
        namespaces=scope.namespaces,
        standalone=peering is None,
        peering_name=peering,
        priority=priority,
    ))
    return 0
