"""FranceConnect path: start the login, take the callback, come back from FranceConnect logout.

Every answer is a redirect: the elector's browser navigates through these routes. Outcomes land
on the static pages under ``/reassort/franceconnect/``. The flow itself is
``reassort.domain.franceconnect``; this module only reads the request and picks the redirect.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from reassort.domain.errors import Unauthenticated
from reassort.domain.franceconnect import FcOutcome, FcResult, FcStarted, Refusal
from reassort.http import API_HEADERS, build_resolver, logger, metrics, request_id
from reassort.wiring import authenticated_elector, get_fc_flow

app = build_resolver()

RESULT_BASE = "/reassort/franceconnect/"
# Result of the FranceConnect path -> page, addressed like every other page (no .html); for
# "refused", the reason shown on the page.
PAGES = {
    FcResult.SENT: "envoye",
    FcResult.MISMATCH: "identite-non-reconnue",
    FcResult.CANCELLED: "annule",
    FcResult.UNAVAILABLE: "indisponible",
}
REFUSED_PAGE = "refuse"
REFUSAL_REASONS = frozenset(Refusal)


@app.get("/api/fc/login", summary="Start a FranceConnect login (redirects to FranceConnect)")
def login():  # no return annotation: the resolver would try to validate a Response model
    rid = request_id(app)
    try:
        elector_id = authenticated_elector(app)
    except Unauthenticated:
        return _result(FcOutcome.refused(Refusal.PORTAL_SESSION))
    step = get_fc_flow().start(elector_id, rid)
    if isinstance(step, FcStarted):
        return _redirect(step.authorize_url)
    return _result(step)


@app.get("/api/fc/callback", summary="FranceConnect callback (redirects to FranceConnect logout)")
def callback():  # no return annotation: the resolver would try to validate a Response model
    params = app.current_event.query_string_parameters or {}
    outcome = get_fc_flow().complete(
        state=params.get("state", ""),
        code=params.get("code", ""),
        error=params.get("error"),
        request_id=request_id(app),
        on_elector=lambda elector_id: logger.append_keys(elector_id=elector_id),
    )
    if outcome.logout_url:
        return _redirect(outcome.logout_url)
    return _result(outcome)


@app.get("/api/fc/logout-return", summary="Return from FranceConnect logout (redirects to the result page)")
def logout_return():  # no return annotation: the resolver would try to validate a Response model
    params = app.current_event.query_string_parameters or {}
    return _result(get_fc_flow().logout_return(params.get("state", "")))


def _result(outcome: FcOutcome) -> Response:
    if outcome.result == FcResult.REFUSED:
        why = outcome.reason if outcome.reason in REFUSAL_REASONS else Refusal.SESSION_EXPIRED
        location = f"{RESULT_BASE}{REFUSED_PAGE}?motif={why}"
    else:
        location = RESULT_BASE + PAGES.get(outcome.result, PAGES[FcResult.UNAVAILABLE])
    if outcome.result == FcResult.SENT and outcome.masked_destination:
        # In the fragment: never sent to a server, never in a Referer.
        location += "#d=" + quote(outcome.masked_destination, safe="")
    return _redirect(location)


def _redirect(location: str) -> Response:
    return Response(status_code=302, headers={**API_HEADERS, "Location": location})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
