"""``votum serve``: the ASGI application (Starlette) that answers the links votum puts
into its emails.

* ``<path of VOTUM_UNSUBSCRIBE_URL>``: the client's opt-out. ``POST`` with a valid token
  (RFC 8058 one-click: body ``List-Unsubscribe=One-Click``, or the button of the page)
  records the objection at once in the delivery journal, which dispatch checks right
  before every client email; ``GET`` shows a confirmation page with that button.
* ``<same path>/resubscribe``: the client's own way back (token-bound, purpose
  ``resubscribe``), offered on the page after the opt-out.
* ``<path of VOTUM_ACTION_URL>``: an advisor's worklist action. ``GET`` only shows a
  confirmation page (mail scanners open links: a GET must not record anything); its
  button ``POST``s and the activity is recorded at once (flows/web/activity_store.py).
* ``/healthz``: for the proxy.

A link that is malformed, altered, expired or another person's gets 403 and one page that
says nothing about anyone. The service writes no access log of its own server (uvicorn's
prints the query string, which holds the client id): it logs method, path, status, the
outcome and at most a keyed hash of the client id. It never opens the DuckDB warehouse
(a run may hold it for minutes): the journal and the activity store are SQLite files that
several processes write at once. It imports neither Prefect, dbt nor Great Expectations.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from flows.clock import clock_for
from flows.errors import ConfigurationError
from flows.links import (
    ACTIONS_BY_CODE,
    NO_CONTACT_REASONS,
    action_bound_to,
    path_of,
)
from flows.notify.journal import open_journal
from flows.settings import Settings
from flows.signing import (
    RESUBSCRIBE,
    UNSUBSCRIBE,
    WORKLIST_ACTION,
    installation_secret,
    make_token,
    verify_token,
)
from flows.web import pages
from flows.web.activity_store import BANK_TZ, open_activity_store
from flows.web.ratelimit import RateLimiter

log = logging.getLogger("votum.web")

SOURCE_ONE_CLICK = "one-click"
RESUBSCRIBE_LINK_DAYS = 90
MAX_BODY_BYTES = 4096

_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

Handler = Callable[[Request], Awaitable[Response]]


class _Outcome:
    """What a request did, for the one log line (no client data: a keyed hash at most)."""

    def __init__(self) -> None:
        self.word = "-"
        self.subject = ""


def today_in_bank_time() -> date:
    return datetime.now(BANK_TZ).date()


def _page(page: pages.Page) -> HTMLResponse:
    return HTMLResponse(pages.render_page(page), status_code=page.status, headers=_HEADERS)


def _first(values: dict[str, list[str]], name: str) -> str:
    found = values.get(name)
    return found[0] if found else ""


class VotumService:
    """The routes and what they share: settings, key, paths, the rate limiter."""

    def __init__(self, settings: Settings, *, today: Callable[[], date] | None = None):
        self.settings = settings
        self.secret = installation_secret(settings)
        # Clicks and opt-outs are stamped by the clock (the demo's simulated one when set).
        self.clock = clock_for(settings)
        self.today = today or self.clock.today_in_bank
        self.unsubscribe_path = path_of(settings.unsubscribe_url)
        self.resubscribe_path = self.unsubscribe_path.rstrip("/") + "/resubscribe"
        self.action_path = path_of(settings.worklist_action_url)
        self.limiter = RateLimiter(settings.serve_rate_per_minute)
        self.trusted_proxies = frozenset(
            a.strip() for a in (settings.serve_trusted_proxy or "").split(",") if a.strip()
        )

    # -- plumbing ---------------------------------------------------------------------
    def source_address(self, request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        if peer in self.trusted_proxies:
            forwarded = request.headers.get("x-forwarded-for", "")
            hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
            if hops:
                return hops[-1]  # the address our proxy saw (earlier hops are the client's say)
        return peer

    def subject(self, client_id: str) -> str:
        """A keyed hash of a client id for the log: the same client, the same hash;
        without the installation's key nobody can tell which client it is."""
        digest = hmac.new(self.secret, b"log\x1f" + client_id.encode(), hashlib.sha256)
        return "client#" + digest.hexdigest()[:10]

    def guarded(self, handler: Callable[[Request, _Outcome], Awaitable[Response]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            outcome = _Outcome()
            if not self.limiter.allow(self.source_address(request)):
                response: Response = _page(pages.too_many_requests())
                outcome.word = "rate-limited"
            else:
                response = await handler(request, outcome)
            log.info(
                "%s %s %d %s %s",
                request.method,
                request.url.path,
                response.status_code,
                outcome.word,
                outcome.subject,
            )
            return response

        return endpoint

    async def form(self, request: Request) -> dict[str, list[str]]:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return {}
        return parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)

    def this_url(self, request: Request) -> str:
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")

    # -- opt-out ------------------------------------------------------------------------
    def _client_token_ok(self, purpose: str, request: Request, max_age: int | None) -> str | None:
        client = request.query_params.get("client", "")
        token = request.query_params.get("token")
        if not client or len(client) > 64:
            return None
        check = verify_token(
            self.secret, purpose, (client,), token, today=self.today(), max_age_days=max_age
        )
        return client if check else None

    async def unsubscribe(self, request: Request, outcome: _Outcome) -> Response:
        client = self._client_token_ok(UNSUBSCRIBE, request, None)
        lang = request.query_params.get("lang")
        if client is None:
            outcome.word = "refused"
            return _page(pages.refused())
        outcome.subject = self.subject(client)
        if request.method == "GET":
            outcome.word = "confirm-page"
            return _page(pages.opt_out_confirm(lang, self.this_url(request)))
        form = await self.form(request)
        new = await run_in_threadpool(self._record_opt_out, client)
        outcome.word = "opted-out" if new else "opted-out-already"
        if _first(form, "page") != "1":
            # RFC 8058: the mailbox provider's POST; nothing in the answer worth keeping.
            return PlainTextResponse("", status_code=200, headers=_HEADERS)
        return _page(pages.opt_out_done(lang, self._resubscribe_href(client, lang)))

    def _record_opt_out(self, client: str) -> bool:
        with open_journal(self.settings.journal_path, self.clock) as journal:
            return journal.opt_out_client(client, source=SOURCE_ONE_CLICK)

    def _resubscribe_href(self, client: str, lang: str | None) -> str:
        token = make_token(self.secret, RESUBSCRIBE, (client,), self.today())
        query = {"client": client, "token": token}
        if lang in pages.LANGUAGES:
            query["lang"] = str(lang)
        return f"{self.resubscribe_path}?{urlencode(query)}"

    async def resubscribe(self, request: Request, outcome: _Outcome) -> Response:
        client = self._client_token_ok(RESUBSCRIBE, request, RESUBSCRIBE_LINK_DAYS)
        lang = request.query_params.get("lang")
        if client is None:
            outcome.word = "refused"
            return _page(pages.refused())
        outcome.subject = self.subject(client)
        if request.method == "GET":
            outcome.word = "confirm-page"
            return _page(pages.resubscribe_confirm(lang, self.this_url(request)))
        removed = await run_in_threadpool(self._opt_back_in, client)
        outcome.word = "resubscribed" if removed else "resubscribed-already"
        return _page(pages.resubscribe_done(lang))

    def _opt_back_in(self, client: str) -> bool:
        with open_journal(self.settings.journal_path) as journal:
            return journal.opt_client_back_in(client)

    # -- worklist actions -------------------------------------------------------------
    async def worklist_action(self, request: Request, outcome: _Outcome) -> Response:
        params = request.query_params
        advisor, client = params.get("advisor", ""), params.get("client", "")
        day, isin, code = params.get("day", ""), params.get("isin", ""), params.get("action", "")
        lang = params.get("lang")
        valid = (
            code in ACTIONS_BY_CODE
            and all(0 < len(v) <= 64 for v in (advisor, client, day))
            and len(isin) <= 64
            and verify_token(
                self.secret,
                WORKLIST_ACTION,
                action_bound_to(advisor, client, day, isin, code),
                params.get("token"),
                today=self.today(),
                max_age_days=self.settings.worklist_link_days,
            ).valid
        )
        if not valid:
            outcome.word = "refused"
            return _page(pages.refused())
        outcome.subject = self.subject(client)
        confirm = pages.action_confirm(lang, code, client, isin, day, self.this_url(request))
        if request.method == "GET":
            outcome.word = "confirm-page"
            return _page(confirm)
        reason: str | None = None
        if code == "no_contact":
            reason = _first(await self.form(request), "reason")
            if reason not in NO_CONTACT_REASONS:
                outcome.word = "reason-missing"
                return _page(replace(confirm, status=400))
        new = await run_in_threadpool(self._record_action, advisor, client, day, isin, code, reason)
        outcome.word = f"recorded-{code}" if new else f"recorded-already-{code}"
        return _page(pages.action_done(lang, code, new=new))

    def _record_action(
        self, advisor: str, client: str, day: str, isin: str, code: str, reason: str | None
    ) -> bool:
        with open_activity_store(self.settings.worklist_activities_path) as store:
            return store.record(
                advisor_id=advisor,
                client_id=client,
                isin=isin,
                alert_day=day,
                activity_type=ACTIONS_BY_CODE[code].activity_type,
                action=code,
                reason=reason,
                at=self.clock.now(),
            )

    # -- health -------------------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok", headers=_HEADERS)


def create_app(settings: Settings, *, today: Callable[[], date] | None = None) -> Starlette:
    service = VotumService(settings, today=today)
    paths = {service.unsubscribe_path, service.resubscribe_path, service.action_path, "/healthz"}
    if len(paths) < 4:
        raise ConfigurationError(
            "VOTUM_UNSUBSCRIBE_URL and VOTUM_ACTION_URL must have different paths, "
            "neither /healthz."
        )
    both = ["GET", "POST"]
    routes = [
        Route("/healthz", service.healthz, methods=["GET"]),
        Route(service.unsubscribe_path, service.guarded(service.unsubscribe), methods=both),
        Route(service.resubscribe_path, service.guarded(service.resubscribe), methods=both),
        Route(service.action_path, service.guarded(service.worklist_action), methods=both),
    ]
    return Starlette(routes=routes)
