"""Stage configuration and the entry point's stage selection."""

from __future__ import annotations

import pytest

from infra.stages import FC_PRODUCTION_ISSUER, STAGES, stage_config

pytestmark = pytest.mark.infra


def test_given_the_three_stages_then_each_has_its_own_host_and_only_prod_is_production() -> None:
    assert set(STAGES) == {"dev", "recette", "prod"}
    assert len({config.domain_name for config in STAGES.values()}) == 3
    assert [name for name, config in STAGES.items() if config.is_production] == ["prod"]
    assert STAGES["prod"].fc_issuer == FC_PRODUCTION_ISSUER
    assert all(config.fc_issuer != FC_PRODUCTION_ISSUER for name, config in STAGES.items() if name != "prod")


def test_given_context_overrides_then_they_are_typed_like_the_field() -> None:
    config = stage_config("prod", {"link_ttl_seconds": "5400", "alarm_email": "astreinte@example.gouv.fr"})
    assert config.link_ttl_seconds == 5400
    assert config.alarm_email == "astreinte@example.gouv.fr"
    assert config.name == "prod"


def test_given_an_unknown_stage_then_it_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown stage"):
        stage_config("staging")
