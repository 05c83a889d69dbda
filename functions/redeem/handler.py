"""Link page: check a link without consuming it, then redeem it for a new vote code."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from reassort.domain.errors import ElectionClosed, LinkInvalid
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
from reassort.wiring import audit_in_one_write, get_link_redemption

app = build_resolver()


class LinkRequest(BaseModel):
    token: str = Field(
        min_length=1, max_length=128, repr=False, description="The token of the link's #t= fragment"
    )


class LinkStatus(BaseModel):
    valid: bool
    display_seconds: int = Field(description="Display time of the new code; once redeemed, the time left")
    redeemed: bool = Field(description="True when the link was redeemed and its code can still be shown")


class NewCode(BaseModel):
    vote_code: str
    display_seconds: int = Field(description="Seconds the code stays on screen from now")
    shown_before: bool = Field(description="True when this link already showed this same code")


@app.post(
    "/api/links/check",
    summary="Tell whether a link can still be redeemed, without consuming it",
    responses={
        **success_response(200, LinkStatus, "The link can be redeemed"),
        **error_responses(*BODY_ERRORS, LinkInvalid, ElectionClosed),
    },
)
def check_link(body: Annotated[LinkRequest, Body()]) -> Response[LinkStatus]:
    state = get_link_redemption().check_link(body.token, request_id(app))
    status = LinkStatus(valid=True, display_seconds=state.display_seconds, redeemed=state.redeemed)
    return json_response(200, status.model_dump())


@app.post(
    "/api/links/redeem",
    summary="Consume the link and receive the new vote code; within the display window, the same code again",
    responses={
        **success_response(200, NewCode, "The new vote code, to show for display_seconds"),
        **error_responses(*BODY_ERRORS, LinkInvalid, ElectionClosed),
    },
)
def redeem_link(body: Annotated[LinkRequest, Body()]) -> Response[NewCode]:
    code = get_link_redemption().redeem_link(body.token, request_id(app))
    return json_response(
        200,
        NewCode(
            vote_code=code.vote_code, display_seconds=code.display_seconds, shown_before=code.shown_before
        ).model_dump(),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@audit_in_one_write
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
