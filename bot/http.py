"""The one HTTP server: health, metrics, and the routes adapters mount (webhooks, playground)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

SHUTDOWN_TIMEOUT = 2.0
"""On stop, requests in progress get this long to finish."""


class BodyTimeout(TimeoutError):
    """The client did not send the whole body in time (a slow-body attack or a dead peer).

    A ``TimeoutError`` because that is what it is, and because aiohttp, after the 408 is
    answered, drains the unread body ("lingering close") and ends that on a timeout quietly:
    any other exception from the body is logged as "Unhandled exception" with its traceback,
    one per slow client, which would let slow clients flood the log."""


class HttpServer:
    """The server bounds how long any connection can hold it: ``idle_timeout`` for a connection
    with no complete request (idle, between keep-alive requests, or headers still arriving:
    aiohttp's keep-alive timer runs from the last answer and, since 3.14.4, from the
    connection's start; data arriving does not reset it), and
    ``body_timeout`` for a request's body to arrive after its headers."""

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        *,
        idle_timeout: float = 15.0,
        body_timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.registry = registry
        self.idle_timeout = idle_timeout
        self.body_timeout = body_timeout
        self.ready = False
        self.app = web.Application(middlewares=[self._body_deadline])
        self.app.router.add_get("/healthz", self._health)
        self.app.router.add_get("/metrics", self._metrics)
        self._runner: web.AppRunner | None = None

    def add_routes(self, routes: Iterable[web.RouteDef]) -> None:
        self.app.router.add_routes(list(routes))

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            keepalive_timeout=self.idle_timeout,
            access_log=None,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.ready = False
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _body_deadline(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every route (webhooks, Telegram's) reads its body under one deadline: when it runs
        out, the body stream raises, and whatever the handler made of that the answer is 408
        and the connection is closed."""
        if request.content.is_eof():  # no body, or all of it arrived with the headers
            return await handler(request)
        expired = False

        def expire() -> None:
            nonlocal expired
            if not request.content.is_eof():
                expired = True
                request.content.set_exception(BodyTimeout())

        timer = asyncio.get_running_loop().call_later(self.body_timeout, expire)
        try:
            response = await handler(request)
        except Exception:
            if not expired:
                raise
        finally:
            timer.cancel()
        if expired:
            late = web.json_response(
                {"ok": False, "error": f"body not received within {self.body_timeout:g} s"},
                status=408,
            )
            late.force_close()
            return late
        return response

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _health(self, request: web.Request) -> web.Response:
        if not self.ready:
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "ok"})

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )
