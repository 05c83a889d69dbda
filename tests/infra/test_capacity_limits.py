"""Throttles and WAF limits follow the capacity model: the global buckets hold ten times the
modelled peak, and no single client address can take more than a tenth of them."""

from __future__ import annotations

import pytest

from infra.edge_stack import RATE_WINDOW_SECONDS
from infra.http_api import SENSITIVE_ROUTE_KEYS
from infra.stages import STAGES
from tools.capacity import Inputs, model

pytestmark = pytest.mark.infra

PEAKS = {route.route: route.peak_rps for route in model(Inputs()).routes}


def _peak(route_key: str) -> float:
    return max(rps for route, rps in PEAKS.items() if route.startswith(route_key))


@pytest.mark.parametrize("stage_name", ["recette", "prod"])
def test_given_the_capacity_model_then_global_throttles_hold_ten_times_the_peak(stage_name: str) -> None:
    config = STAGES[stage_name]
    for route_key in SENSITIVE_ROUTE_KEYS:
        assert config.sensitive_route_rate_limit >= 10 * _peak(route_key), route_key
    assert config.api_rate_limit >= 10 * sum(PEAKS.values())


@pytest.mark.parametrize("stage_name", ["recette", "prod"])
def test_given_per_client_limits_then_one_address_takes_at_most_a_tenth_of_a_global_bucket(
    stage_name: str,
) -> None:
    config = STAGES[stage_name]
    per_second = {
        "challenge": config.waf_challenge_limit_per_ip / RATE_WINDOW_SECONDS,
        "links": config.waf_links_limit_per_ip / RATE_WINDOW_SECONDS,
        "api": config.waf_global_limit_per_ip / RATE_WINDOW_SECONDS,
    }
    assert per_second["challenge"] <= config.sensitive_route_rate_limit / 10
    assert per_second["links"] <= config.sensitive_route_rate_limit / 10
    assert per_second["api"] <= config.api_rate_limit / 10
    # A declared academy range may take more, never half of a bucket.
    assert per_second["challenge"] * config.waf_academy_limit_factor < config.sensitive_route_rate_limit / 2
