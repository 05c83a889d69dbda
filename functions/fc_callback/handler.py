"""FranceConnect path: start the login, take the callback, come back from FranceConnect logout.

Every answer is a redirect: the elector's browser navigates through these routes. Outcomes land
on the static pages under ``/reassort/franceconnect/``. The FranceConnect claims (civil identity,
e-mail) are used in memory only: never stored, logged or written to the audit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from reassort.domain.errors import (
    AccountLocked,
    ElectionClosed,
    InvalidFields,
    ProfessionalAddressRefused,
    QuotaExceeded,
    ReassortError,
    SendFailed,
    Unauthenticated,
)
from reassort.domain.identity import IncompleteIdentityError, civil_identity_from_claims, digest_identity
from reassort.domain.model import AuditEvent, Channel, FcState, Method
from reassort.domain.service import link_digest
from reassort.http import API_HEADERS, build_resolver, logger, metrics, request_id
from reassort.wiring import (
    authenticated_elector,
    get_fc_client,
    get_fc_state_store,
    get_secrets,
    get_service,
)

app = build_resolver()

STATE_TTL_SECONDS = 600
LOGOUT_STATE_TTL_SECONDS = 600
RESULT_BASE = "/reassort/franceconnect/"
AUDIT_EVENT = "franceconnect"
UNKNOWN_ELECTOR = "-"
# What FranceConnect sends back as state is ours: token_urlsafe(32), 43 characters.
_STATE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_LOGOUT_STATE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{43}$")
_ERROR_SHAPE = re.compile(r"^[a-z_]{1,40}$")

# Result of the FranceConnect path -> page (and, for "refused", the reason shown on the page).
PAGES = {
    "sent": "envoye.html",
    "mismatch": "identite-non-reconnue.html",
    "cancelled": "annule.html",
    "unavailable": "indisponible.html",
}
REFUSED_PAGE = "refuse.html"
REFUSAL_REASONS = frozenset(
    {
        "adresse-professionnelle",
        "adresse-absente",
        "bloque",
        "quota",
        "hors-periode",
        "session-expiree",
        "session-portail",
        "envoi-echoue",
        "sans-identite",
    }
)


# -- routes ---------------------------------------------------------------------------------------


@app.get("/api/fc/login", summary="Start a FranceConnect login (redirects to FranceConnect)")
def login():  # no return annotation: the resolver would try to validate a Response model
    rid = request_id(app)
    try:
        elector_id = authenticated_elector(app)
    except Unauthenticated:
        return _result("refused", reason="session-portail")
    service = get_service()
    now = service.clock.now()
    try:
        elector = service.electors.get(elector_id)
        if elector is None or not elector.identity_digest:
            # No civil identity on the roll for this elector: FranceConnect cannot prove anything.
            _audit(elector_id, "no_identity_on_roll", rid, now)
            return _result("refused", reason="sans-identite")
        rules = service.rules
        if (rules.opens_at is not None and now < rules.opens_at) or (
            rules.closes_at is not None and now >= rules.closes_at
        ):
            _audit(elector_id, "election_closed", rid, now)
            return _result("refused", reason="hors-periode")
        if elector.is_locked(now):
            _audit(elector_id, "locked", rid, now)
            return _result("refused", reason="bloque")
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        authorize_url = get_fc_client().authorize_url(state=state, nonce=nonce)
        get_fc_state_store().save(
            FcState(
                state_id=_state_id(state),
                elector_id=elector_id,
                nonce=nonce,
                expires_at=now + STATE_TTL_SECONDS,
            )
        )
    except Exception as error:  # FranceConnect discovery or the state table: nothing to retry here
        _audit(elector_id, "unavailable", rid, now, detail=_reason(error))
        return _result("unavailable")
    _audit(elector_id, "login_started", rid, now)
    return _redirect(authorize_url)


@app.get("/api/fc/callback", summary="FranceConnect callback (redirects to FranceConnect logout)")
def callback():  # no return annotation: the resolver would try to validate a Response model
    params = app.current_event.query_string_parameters or {}
    rid = request_id(app)
    service = get_service()
    now = service.clock.now()

    # The state is consumed first, whatever else the request says: it can never serve twice.
    state = _take_state(params.get("state", ""))
    if state is None or state.expires_at <= now:
        _audit(state.elector_id if state else UNKNOWN_ELECTOR, "state_invalid", rid, now)
        return _result("refused", reason="session-expiree")
    elector_id = state.elector_id
    logger.append_keys(elector_id=elector_id)

    error = params.get("error")
    if error is not None:
        code = error if _ERROR_SHAPE.fullmatch(error) else "other"
        if code == "access_denied":
            _audit(elector_id, "cancelled", rid, now)
            return _result("cancelled")
        _audit(
            elector_id, "unavailable" if code == "temporarily_unavailable" else "error", rid, now, detail=code
        )
        return _result("unavailable")

    code_value = params.get("code", "")
    if not code_value or len(code_value) > 512:
        _audit(elector_id, "error", rid, now, detail="code_missing")
        return _result("unavailable")

    from reassort.adapters.franceconnect import FranceConnectError, FranceConnectUnavailable

    client = get_fc_client()
    try:
        fc_login = client.complete_login(code_value, state.nonce)
    except FranceConnectUnavailable as exc:
        _audit(elector_id, "unavailable", rid, now, detail=exc.reason)
        return _result("unavailable")
    except FranceConnectError as exc:
        _audit(elector_id, "error", rid, now, detail=exc.reason)
        return _result("unavailable")

    # From here FranceConnect's session is ours to close: every outcome goes through its logout.
    def finish(result: str, reason: str | None = None, masked: str | None = None) -> Response:
        logout_state = _sign_logout_state(result, reason, masked, now)
        try:
            return _redirect(client.logout_url(fc_login.id_token, logout_state))
        except FranceConnectError:
            return _result(result, reason=reason, masked=masked)

    elector = service.electors.get(elector_id)
    try:
        identity = civil_identity_from_claims(fc_login.userinfo)
    except IncompleteIdentityError:
        _audit(elector_id, "identity_incomplete", rid, now)
        return finish("mismatch")
    digest = digest_identity(get_secrets().identity_hmac_key, identity)
    if (
        elector is None
        or not elector.identity_digest
        or not hmac.compare_digest(digest, elector.identity_digest)
    ):
        _audit(elector_id, "identity_mismatch", rid, now)
        return finish("mismatch")
    _audit(elector_id, "identity_matched", rid, now)

    email = fc_login.userinfo.get("email")
    if not isinstance(email, str) or not email.strip():
        _audit(elector_id, "email_missing", rid, now)
        return finish("refused", "adresse-absente")

    try:
        issued = service.issue_link(
            elector_id,
            channel=Channel.EMAIL,
            destination=email,
            method=Method.FRANCECONNECT,
            request_id=rid,
        )
    except ProfessionalAddressRefused:
        return finish("refused", "adresse-professionnelle")
    except InvalidFields:
        _audit(elector_id, "email_invalid", rid, now)
        return finish("refused", "adresse-absente")
    except AccountLocked:
        return finish("refused", "bloque")
    except QuotaExceeded:
        return finish("refused", "quota")
    except ElectionClosed:
        _audit(elector_id, "election_closed", rid, now)
        return finish("refused", "hors-periode")
    except SendFailed:
        return finish("refused", "envoi-echoue")
    except ReassortError as exc:
        _audit(elector_id, "error", rid, now, detail=exc.code.lower())
        return finish("unavailable")
    return finish("sent", masked=issued.masked_destination)


@app.get("/api/fc/logout-return", summary="Return from FranceConnect logout (redirects to the result page)")
def logout_return():  # no return annotation: the resolver would try to validate a Response model
    params = app.current_event.query_string_parameters or {}
    outcome = _verify_logout_state(params.get("state", ""), get_service().clock.now())
    if outcome is None:
        return _result("refused", reason="session-expiree")
    return _result(outcome["r"], reason=outcome.get("why"), masked=outcome.get("d"))


# -- helpers ----------------------------------------------------------------------------------------


def _state_id(state: str) -> str:
    return link_digest(get_secrets().link_hmac_key, state)


def _take_state(value: str) -> FcState | None:
    if not _STATE_SHAPE.fullmatch(value):
        return None
    return get_fc_state_store().take(_state_id(value))


def _logout_key() -> bytes:
    # A key of its own, derived from the link key, so a logout state is never a valid digest elsewhere.
    return hmac.new(get_secrets().link_hmac_key, b"franceconnect-logout-state", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sign_logout_state(result: str, reason: str | None, masked: str | None, now: float) -> str:
    """The outcome travels through FranceConnect's logout in the state, signed and short-lived.

    It holds the result page and, on success, the masked destination (``j•••@example.fr``):
    nothing FranceConnect does not already know. A random part keeps every state distinct.
    """
    payload: dict[str, Any] = {
        "r": result,
        "e": int(now) + LOGOUT_STATE_TTL_SECONDS,
        "n": secrets.token_hex(8),
    }
    if reason:
        payload["why"] = reason
    if masked:
        payload["d"] = masked
    body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    mac = _b64(hmac.new(_logout_key(), body.encode("ascii"), hashlib.sha256).digest())
    return f"{body}.{mac}"


def _verify_logout_state(value: str, now: float) -> dict[str, Any] | None:
    if not _LOGOUT_STATE_SHAPE.fullmatch(value):
        return None
    body, mac = value.split(".")
    expected = _b64(hmac.new(_logout_key(), body.encode("ascii"), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("e"), int) or payload["e"] <= now:
        return None
    return payload


def _result(result: str, reason: str | None = None, masked: str | None = None) -> Response:
    if result == "refused":
        why = reason if reason in REFUSAL_REASONS else "session-expiree"
        location = f"{RESULT_BASE}{REFUSED_PAGE}?motif={why}"
    else:
        location = RESULT_BASE + PAGES.get(result, PAGES["unavailable"])
    if result == "sent" and masked:
        # In the fragment: never sent to a server, never in a Referer.
        location += "#d=" + quote(masked, safe="")
    return _redirect(location)


def _redirect(location: str) -> Response:
    return Response(status_code=302, headers={**API_HEADERS, "Location": location})


def _reason(error: Exception) -> str:
    reason = getattr(error, "reason", None) or getattr(error, "code", None)
    return str(reason) if reason else type(error).__name__


def _audit(elector_id: str, outcome: str, rid: str, now: float, detail: str | None = None) -> None:
    get_service().audit.record(
        AuditEvent(
            elector_id=elector_id,
            event=AUDIT_EVENT,
            outcome=outcome,
            request_id=rid,
            at=now,
            method=Method.FRANCECONNECT.value,
            detail=detail,
        )
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
