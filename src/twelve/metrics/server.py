"""The daemon's metrics parts: the sampling task (judging alerts after each round), the webhook
sender, and ``GET /metrics`` on a bind of its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twelve.compose import Graph
from twelve.features import RUNTIME_METRICS, FeatureStore
from twelve.metrics.prometheus import CONTENT_TYPE, exposition
from twelve.metrics.recorder import Recorder
from twelve.metrics.sampler import Sampler
from twelve.serving import serve_asgi
from twelve.settings_values import Bind
from twelve.webhooks.alerts import Alerts

log = logging.getLogger("twelve")


async def start_metrics(stack: contextlib.AsyncExitStack, graph: Graph) -> None:
    """Sample processes every interval, send webhooks; serve ``GET /metrics`` on
    TWELVE_METRICS_BIND if set.

    Each part's stop goes on ``stack``; the open intervals are written as the daemon stops, so a
    restart loses none.
    """
    recorder = graph.platform.metrics
    if recorder is None:
        return
    features = FeatureStore(graph.settings.features_path)
    alerts = Alerts(graph.store.alerts, recorder, graph.platform.notify, graph.platform.event)
    sampler = Sampler(
        graph.supervisor,
        recorder,
        graph.settings.metrics_sample_interval,
        lambda app: RUNTIME_METRICS in features.of(app),
        graph.platform.event,
        alerts.check,
    )
    tasks = [asyncio.create_task(sampler.run(), name="metrics")]
    if graph.platform.webhooks is not None:
        tasks.append(asyncio.create_task(graph.platform.webhooks.run(), name="webhooks"))

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        recorder.flush(everything=True)

    stack.push_async_callback(stop)
    bind = graph.settings.metrics_bind
    if bind is not None:
        url = await serve_metrics(stack, recorder, bind)
        log.info("metrics for Prometheus on %s/metrics", url)


async def serve_metrics(stack: contextlib.AsyncExitStack, recorder: Recorder, bind: Bind) -> str:
    """``GET /metrics`` without a token on ``bind`` (a scraper on a private network); its URL."""

    async def metrics(_request: Request) -> Response:
        return Response(exposition(recorder), media_type=CONTENT_TYPE)

    app = Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])
    return await serve_asgi(stack, app, bind, "TWELVE_METRICS_BIND")
