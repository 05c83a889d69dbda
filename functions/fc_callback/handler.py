"""FranceConnect path: start the login, take the callback, come back from FranceConnect logout.

Every answer is a redirect: the elector's browser navigates through these routes. Outcomes land
on the static pages under ``/reassort/franceconnect/``. The flow itself is
``reassort.domain.franceconnect``; this module only reads the request and picks the redirect.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from reassort.domain.errors import ReassortError, Unauthenticated
from reassort.domain.franceconnect import FcOutcome, FcResult, FcStarted, Refusal
from reassort.http import API_HEADERS, build_resolver, logger, metrics, request_id
from reassort.wiring import audit_in_one_write, authenticated_elector, get_fc_flow

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
MAX_PARAM = 2048  # a longer query parameter is no FranceConnect answer: the « indisponible » page

# The elector's browser navigates these routes: every answer, even a fault, is a redirect.
REDIRECT: dict[int, OpenAPIResponse] = {
    302: {
        "description": "Redirect to FranceConnect or to a result page under /reassort/franceconnect/",
        "content": {},  # no body: without this, Powertools would document a JSON one
        "headers": {"Location": {"description": "Where the browser goes next", "schema": {"type": "string"}}},
    }
}


def _fault_page(error: ReassortError) -> Response:
    """A refusal or a fault inside these routes: a French page, never a JSON body."""
    if isinstance(error, Unauthenticated):
        return _result(FcOutcome.refused(Refusal.PORTAL_SESSION))
    return _result(FcOutcome(FcResult.UNAVAILABLE))


app = build_resolver(fault_page=_fault_page)


@app.get(
    "/api/fc/login", summary="Start a FranceConnect login (redirects to FranceConnect)", responses=REDIRECT
)
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


@app.get(
    "/api/fc/callback",
    summary="FranceConnect callback (redirects to FranceConnect logout)",
    responses=REDIRECT,
)
def callback(
    state: Annotated[str | None, Query(max_length=MAX_PARAM)] = None,
    code: Annotated[str | None, Query(max_length=MAX_PARAM)] = None,
    error: Annotated[str | None, Query(max_length=MAX_PARAM)] = None,
    error_description: Annotated[str | None, Query(max_length=MAX_PARAM)] = None,  # never shown
    iss: Annotated[str | None, Query(max_length=MAX_PARAM, description="RFC 9207")] = None,
):  # no return annotation: the resolver would try to validate a Response model
    outcome = get_fc_flow().complete(
        state=state or "",
        code=code or "",
        error=error,
        iss=iss,
        request_id=request_id(app),
        on_elector=lambda elector_id: logger.append_keys(elector_id=elector_id),
    )
    if outcome.logout_url:
        return _redirect(outcome.logout_url)
    return _result(outcome)


@app.get(
    "/api/fc/logout-return",
    summary="Return from FranceConnect logout (redirects to the result page)",
    responses=REDIRECT,
)
def logout_return(
    state: Annotated[str | None, Query(max_length=MAX_PARAM)] = None,
):  # no return annotation: the resolver would try to validate a Response model
    return _result(get_fc_flow().logout_return(state or ""))


def _result(outcome: FcOutcome) -> Response:
    if outcome.result == FcResult.REFUSED:
        why = outcome.reason if outcome.reason in REFUSAL_REASONS else Refusal.SESSION_EXPIRED
        location = f"{RESULT_BASE}{REFUSED_PAGE}?motif={why}"
    else:
        # No personal data, masked or not, in any URL: the page names no address.
        location = RESULT_BASE + PAGES.get(outcome.result, PAGES[FcResult.UNAVAILABLE])
    return _redirect(location)


def _redirect(location: str) -> Response:
    return Response(status_code=302, headers={**API_HEADERS, "Location": location})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@audit_in_one_write
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
