"""Running the service: uvicorn with its access log off (it would print query strings,
which hold client ids), no proxy-header rewriting of its own (flows.web.app trusts
X-Forwarded-For only from VOTUM_SERVE_TRUSTED_PROXY), one log line per request from
``votum.web`` on stderr."""

from __future__ import annotations

import logging
import sys

import uvicorn

from flows.settings import Settings
from flows.web.app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def serve(settings: Settings, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve until stopped (SIGINT / SIGTERM)."""
    app = create_app(settings)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    web_log = logging.getLogger("votum.web")
    web_log.handlers[:] = [handler]
    web_log.setLevel(logging.INFO)
    web_log.propagate = False
    web_log.info("votum serve on http://%s:%d (health: /healthz)", host, port)
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        log_level="info",
    )
