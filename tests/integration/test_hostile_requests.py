"""Requests a hostile client can build: each gets its documented 4xx, never the catch-all 5xx,
and none of them is evaluated (no attempt counted, nothing sent) or logged at ERROR."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any

import pytest

from local.lambda_adapter import HttpRequest, LambdaContext, build_event
from tests.support.stack import Elector, Stack

CHALLENGE = ("request_reassort", "/api/reassort/challenge")
REDEEM = ("redeem", "/api/links/redeem")
CHECK = ("redeem", "/api/links/check")
PUBLIC_ORIGIN = "https://reassort.test.gouv.fr"  # PUBLIC_BASE_URL of the tests


def send(
    stack: Stack,
    target: tuple[str, str],
    method: str = "POST",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    session: str | None = None,
    base64_body: bool = False,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """One raw request through the real handler, headers exactly as given."""
    import importlib

    module, path = target
    handler = importlib.import_module(f"{module}.handler").lambda_handler
    request_headers = [("host", "reassort.test"), *(headers or {}).items()]
    if session:
        request_headers.append(("cookie", f"portal_session={session}"))
    event = build_event(HttpRequest(method, path, "", request_headers, body))
    if base64_body:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    result = handler(event, LambdaContext(function_name=module, aws_request_id=str(uuid.uuid4())))
    text = result.get("body") or ""
    return (
        result["statusCode"],
        {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()},
        json.loads(text) if text else {},
    )


def answer_body(elector: Elector, **overrides: Any) -> bytes:
    return json.dumps(
        {"answer": "faux", "identifier": elector.numen, "channel": "email", "destination": "m@gmail.com"}
        | overrides
    ).encode()


JSON = {"content-type": "application/json"}


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def attempts_of(stack: Stack, elector: Elector) -> int:
    return int(stack.elector_item(elector.elector_id).get("failed_attempts", {"N": "0"})["N"])


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe{not utf-8",
        b'{"answer": "\xe9l\xe9phant"}',  # Latin-1, not UTF-8
        b"[" * 5_000 + b"]" * 5_000,
        b'{"answer": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        b'{"token": ' + b"[" * 1_000 + b"]" * 1_000 + b"}",
        b'{"token": ' + b'{"a":' * 500 + b"1" + b"}" * 500 + b"}",
        b'{"token": ' + b"[" * 9 + b"]" * 9 + b"}",
        b"{not json",
        b"[]",
        b"null",
        b'"text"',
    ],
    ids=[
        "invalid-utf8",
        "latin1",
        "nested-array",
        "nested-field",
        "nested-1000",
        "nested-objects-500",
        "nested-9",
        "not-json",
        "array",
        "null",
        "string",
    ],
)
def test_given_an_unreadable_body_when_posting_then_400_malformed_request_and_no_error_logged(
    stack: Stack, marie: Elector, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    session = stack.session(marie.elector_id)
    for target in (CHALLENGE, REDEEM, CHECK):
        status, _, reply = send(stack, target, body=body, headers=JSON, session=session)
        assert (status, reply["code"]) == (400, "MALFORMED_REQUEST"), target
    assert attempts_of(stack, marie) == 0
    assert errors_logged(caplog) == []


def test_given_brackets_inside_strings_when_posting_then_they_are_text_not_nesting(
    stack: Stack, marie: Elector
) -> None:
    body = json.dumps({"token": '[[[[[[[[[[{{{{{{{{{{\\"' * 10}).encode()
    status, _, reply = send(stack, REDEEM, body=body, headers=JSON)
    assert (status, reply["code"]) == (422, "INVALID_FIELDS")  # too long a token, not malformed


def test_given_a_base64_body_that_is_not_utf8_json_when_posting_then_400(
    stack: Stack, marie: Elector
) -> None:
    status, _, reply = send(stack, REDEEM, body=b"\x00\xff\x10", headers=JSON, base64_body=True)
    assert (status, reply["code"]) == (400, "MALFORMED_REQUEST")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-type": "text/plain"},
        {"content-type": "multipart/form-data"},
        {"content-type": "multipart/form-data; boundary=x"},
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "application/jsonp"},
    ],
    ids=["none", "text", "multipart-no-boundary", "multipart", "form", "jsonp"],
)
def test_given_a_post_that_is_not_declared_json_when_sent_then_415_and_nothing_evaluated(
    stack: Stack, marie: Elector, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    session = stack.session(marie.elector_id)
    status, _, reply = send(stack, CHALLENGE, body=answer_body(marie), headers=headers, session=session)
    assert (status, reply["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert attempts_of(stack, marie) == 0  # the body was never read as an answer
    assert errors_logged(caplog) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "same-site"},
        {"sec-fetch-site": "cross-site"},
        {"origin": "https://portail.test.gouv.fr"},
        {"origin": "null"},
        {"origin": PUBLIC_ORIGIN, "sec-fetch-site": "same-site"},
    ],
    ids=["same-site", "cross-site", "other-origin", "null-origin", "spoofable-origin-but-fetch-site"],
)
def test_given_a_cross_origin_state_change_when_posting_then_403_and_no_attempt_spent(
    stack: Stack, marie: Elector, headers: dict[str, str]
) -> None:
    session = stack.session(marie.elector_id)
    for _ in range(6):  # would lock the elector if any were evaluated
        status, _, reply = send(
            stack, CHALLENGE, body=answer_body(marie), headers=JSON | headers, session=session
        )
        assert (status, reply["code"]) == (403, "CROSS_ORIGIN_REFUSED")
    assert attempts_of(stack, marie) == 0
    assert stack.emails() == []


@pytest.mark.parametrize(
    "headers",
    [{"sec-fetch-site": "same-origin"}, {"origin": PUBLIC_ORIGIN}, {"origin": PUBLIC_ORIGIN.upper()}, {}],
    ids=["same-origin", "own-origin", "own-origin-upper", "no-browser-headers"],
)
def test_given_a_same_origin_or_non_browser_request_when_posting_then_it_is_evaluated(
    stack: Stack, marie: Elector, headers: dict[str, str]
) -> None:
    session = stack.session(marie.elector_id)
    status, _, reply = send(
        stack, CHALLENGE, body=answer_body(marie), headers=JSON | headers, session=session
    )
    assert (status, reply["code"]) == (403, "WRONG_CREDENTIALS")
    assert attempts_of(stack, marie) == 1


@pytest.mark.parametrize(
    ("target", "method", "allow"),
    [
        (REDEEM, "GET", "POST"),
        (CHECK, "PUT", "POST"),
        (CHALLENGE, "DELETE", "GET, POST"),
        (CHALLENGE, "PATCH", "GET, POST"),
        (CHALLENGE, "OPTIONS", "GET, POST"),
        (("fc_callback", "/api/fc/callback"), "POST", "GET"),
    ],
)
def test_given_a_known_path_and_another_method_when_called_then_405_with_allow(
    stack: Stack, target: tuple[str, str], method: str, allow: str
) -> None:
    status, headers, reply = send(stack, target, method=method, body=b"{}", headers=JSON)
    assert (status, reply["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert headers["allow"] == allow


def test_given_an_unknown_path_when_called_then_404_not_found(stack: Stack) -> None:
    status, _, reply = send(stack, ("redeem", "/api/links/nowhere"), body=b"{}", headers=JSON)
    assert (status, reply["code"]) == (404, "NOT_FOUND")


def test_given_a_body_over_16_kib_when_posting_then_413(stack: Stack, marie: Elector) -> None:
    body = json.dumps({"token": "A" * 17_000}).encode()
    status, _, reply = send(stack, REDEEM, body=body, headers=JSON)
    assert (status, reply["code"]) == (413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"token": 5}, "token", "NOT_TEXT"),
        ({"token": ["a"]}, "token", "NOT_TEXT"),
        ({"token": None}, "token", "NOT_TEXT"),
        ({}, "token", "REQUIRED"),
        ({"token": ""}, "token", "REQUIRED"),
        ({"token": "A" * 129}, "token", "TOO_LONG"),
    ],
)
def test_given_a_bad_field_when_redeeming_then_the_projects_own_field_code(
    stack: Stack, payload: dict[str, Any], field: str, code: str
) -> None:
    status, _, reply = send(stack, REDEEM, body=json.dumps(payload).encode(), headers=JSON)
    assert (status, reply["code"]) == (422, "INVALID_FIELDS")
    assert [(f["name"], f["code"]) for f in reply["fields"]] == [(field, code)]


def test_given_a_lone_surrogate_or_an_unknown_channel_then_text_invalid_and_channel_invalid(
    stack: Stack, marie: Elector
) -> None:
    body = answer_body(marie, channel="fax").replace(b'"faux"', b'"\\ud800"')
    status, _, reply = send(
        stack, CHALLENGE, body=body, headers=JSON, session=stack.session(marie.elector_id)
    )
    assert (status, reply["code"]) == (422, "INVALID_FIELDS")
    assert {(f["name"], f["code"]) for f in reply["fields"]} == {
        ("answer", "TEXT_INVALID"),
        ("channel", "CHANNEL_INVALID"),
    }
