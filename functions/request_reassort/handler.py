"""Challenge path: show the elector's question, check the answer, send the link."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from reassort.domain.errors import (
    AccountLocked,
    ChallengeNotSet,
    ElectionClosed,
    ElectorUnknown,
    ProfessionalAddressRefused,
    QuotaExceeded,
    SendFailed,
    Unauthenticated,
    WrongCredentials,
)
from reassort.domain.model import Channel
from reassort.http import (
    BODY_ERRORS,
    build_resolver,
    error_responses,
    json_response,
    logger,
    metrics,
    request_id,
    success_response,
)
from reassort.wiring import audit_in_one_write, authenticated_elector, get_challenge_requests

app = build_resolver()


class ChallengeView(BaseModel):
    display_name: str
    question: str
    channels: list[Channel]
    franceconnect: bool = Field(
        description="FranceConnect can identify this elector (the roll holds their civil identity)"
    )


class ChallengeRequest(BaseModel):
    answer: str = Field(min_length=1, max_length=200, repr=False, description="Secret answer to the question")
    identifier: str = Field(
        min_length=1, max_length=40, repr=False, description="NUMEN or first 10 characters of the NIR"
    )
    channel: Channel
    destination: str = Field(
        min_length=1, max_length=254, repr=False, description="Personal e-mail address or mobile number"
    )


class LinkSent(BaseModel):
    channel: Channel
    masked_destination: str
    link_valid_minutes: int


@app.get(
    "/api/reassort/challenge",
    summary="The elector's challenge question",
    security=[{"portalSession": []}],
    responses={
        **success_response(200, ChallengeView, "The question and the channels"),
        **error_responses(Unauthenticated, ElectorUnknown, ChallengeNotSet),
    },
)
def get_challenge() -> Response[ChallengeView]:
    challenge = get_challenge_requests().get_challenge(authenticated_elector(app))
    view = ChallengeView(
        display_name=challenge.display_name,
        question=challenge.question,
        channels=list(challenge.channels),
        franceconnect=challenge.franceconnect,
    )
    return json_response(200, view.model_dump(mode="json"))


@app.post(
    "/api/reassort/challenge",
    summary="Answer the challenge and receive a single-use link",
    security=[{"portalSession": []}],
    status_code=202,
    responses={
        **success_response(202, LinkSent, "Link sent (after the information e-mail)"),
        **error_responses(
            *BODY_ERRORS,
            Unauthenticated,
            ElectorUnknown,
            ChallengeNotSet,
            ProfessionalAddressRefused,
            WrongCredentials,
            AccountLocked,
            QuotaExceeded,
            ElectionClosed,
            SendFailed,
        ),
    },
)
def post_challenge(body: Annotated[ChallengeRequest, Body()]) -> Response[LinkSent]:
    challenge_path = get_challenge_requests()
    issued = challenge_path.request_by_challenge(
        authenticated_elector(app),
        answer=body.answer,
        identifier=body.identifier,
        channel=body.channel,
        destination=body.destination,
        request_id=request_id(app),
    )
    sent = LinkSent(
        channel=issued.channel,
        masked_destination=issued.masked_destination,
        link_valid_minutes=challenge_path.link_valid_minutes,
    )
    return json_response(202, sent.model_dump(mode="json"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@audit_in_one_write
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
