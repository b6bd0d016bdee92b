"""A live node's two HTTP servers (aiohttp): the operator's control API and the metrics endpoint.

Control (bearer token): `GET /status`; `POST /trading/enable`, `/trading/disable`, `/kill`,
`/stop`. The token is read from a file (a mounted secret), compared in constant time, and never
logged or echoed; a request without the right token is 401 and counted. Every accepted action is
an input the engine journals (TRADING_ENABLED, TRADING_DISABLED, KILL_SWITCH with the operator as
its source) or the session's stop (SESSION_STOP, reason OPERATOR), so a replay shows who stopped
trading and when.

Metrics (no token): `GET /metrics` (Prometheus text), `/healthz` (the node runs), `/readyz`
(every book is synced).

Both bind loopback by default. Their bound addresses go to `endpoints.json` in the run directory,
where `canonicalflow ctl` finds them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from canonicalflow.errors import ConfigError
from canonicalflow.events import EventKind, StopReason
from canonicalflow.live._metrics import NodeMetrics

if TYPE_CHECKING:
    from canonicalflow.live._node import LiveNode

__all__ = ["ENDPOINTS_FILE", "NodeServers", "check_free", "read_token"]

ENDPOINTS_FILE = "endpoints.json"
log = logging.getLogger("canonicalflow.live")
_ACTIONS = {
    "/trading/enable": (EventKind.TRADING_ENABLED, 0),
    "/trading/disable": (EventKind.TRADING_DISABLED, 0),
    "/kill": (EventKind.KILL_SWITCH, 1),
}


def read_token(path: Path, what: str = "live.control.token_file") -> str:
    """The bearer token in `path`, without surrounding whitespace; a ConfigError naming `what`
    (the setting or option that gave the path) if there is none."""
    try:
        token = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"{what}: cannot read {path}: {getattr(error, 'strerror', None) or error}"
        ) from None
    if not token:
        raise ConfigError(f"{what}: {path} is empty")
    if any(c.isspace() or not c.isprintable() or not c.isascii() for c in token):
        raise ConfigError(f"{what}: {path} must hold the token alone, on one line, in ASCII")
    return token


def check_free(host: str, port: int, what: str) -> None:
    """A ConfigError now if `host:port` cannot be bound, before the run directory is written."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ConfigError(f"{what}: cannot listen on {host}:{port}: {error.strerror}") from None


def _digest(token: bytes) -> bytes:
    """Compared as digests, so the comparison takes the same time whatever the token's length."""
    return hashlib.sha256(token).digest()


class NodeServers:
    """The node's control API and metrics endpoint, as its configuration asks; `start` binds them."""

    def __init__(self, node: LiveNode) -> None:
        self.node = node
        live = node.config.live
        self._token = _digest(read_token(live.control.token_file).encode()) if live.control else None
        self.metrics = NodeMetrics(node) if live.metrics else None
        self._runners: list[web.AppRunner] = []
        self.endpoints: dict[str, str] = {}

    async def start(self) -> None:
        live = self.node.config.live
        if live.control is not None:
            self.endpoints["control"] = await self._serve(
                self._control_app(), live.control.host, live.control.port
            )
        if live.metrics is not None:
            self.endpoints["metrics"] = await self._serve(
                self._metrics_app(), live.metrics.host, live.metrics.port
            )
        if self.endpoints:
            (self.node.run_dir / ENDPOINTS_FILE).write_text(json.dumps(self.endpoints, indent=2) + "\n")
        for name, url in self.endpoints.items():
            log.info("%s at %s", "control API" if name == "control" else "metrics", url)

    async def stop(self) -> None:
        """Stop serving; endpoints.json goes with the servers, so nothing points at a dead port."""
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        (self.node.run_dir / ENDPOINTS_FILE).unlink(missing_ok=True)

    async def _serve(self, app: web.Application, host: str, port: int) -> str:
        runner = web.AppRunner(app, access_log=None)  # no access log: nothing of a request is written
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror}") from None
        self._runners.append(runner)
        if not ipaddress.ip_address(host if host != "localhost" else "127.0.0.1").is_loopback:
            log.warning("listening on %s, beyond this machine: the bearer token travels in plain HTTP", host)
        bound = site._server.sockets[0].getsockname()  # type: ignore[union-attr]
        address = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        return f"http://{address}:{bound[1]}"

    # ------------------------------------------------------------------ control
    def _control_app(self) -> web.Application:
        app = web.Application(middlewares=[self._authorized])
        app.router.add_get("/status", self._status)
        for path in (*_ACTIONS, "/stop"):
            app.router.add_post(path, self._act)
        return app

    @web.middleware
    async def _authorized(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        assert self._token is not None
        given_digest = _digest(token.strip().encode("utf-8", "surrogateescape"))
        if scheme.lower() != "bearer" or not hmac.compare_digest(given_digest, self._token):
            self.node.unauthorized += 1
            return web.json_response(
                {"error": "unauthorized"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="canonicalflow"'},
            )
        return await handler(request)

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(self.node.status())

    async def _act(self, request: web.Request) -> web.Response:
        node = self.node
        if node.closing or node.simulation.stopped or node.stop_reason is not None:
            return web.json_response({"error": "the session is stopping"}, status=409)
        if request.path == "/stop":
            node.stop_session(StopReason.OPERATOR)
            return web.json_response({"accepted": "SESSION_STOP", "reason": StopReason.OPERATOR.name})
        kind, engaged = _ACTIONS[request.path]
        ev = node.control(kind, engaged)  # taken in its turn: after the inputs that came before it
        return web.json_response({"accepted": kind.name, "ts": ev.ts_receive})

    # ------------------------------------------------------------------ metrics
    def _metrics_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    async def _metrics(self, request: web.Request) -> web.Response:
        assert self.metrics is not None
        response = web.Response(body=self.metrics.exposition())
        response.content_type = "text/plain"
        response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
        return response

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "position": self.node.session.core.position})

    async def _readyz(self, request: web.Request) -> web.Response:
        books: dict[str, Any] = {
            i.symbol: self.node.feed.synced(i.symbol) for i in self.node.config.instruments
        }
        return web.json_response(
            {"ready": self.node.ready, "synced": books}, status=200 if self.node.ready else 503
        )
