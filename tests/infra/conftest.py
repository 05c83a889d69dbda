"""Synthesizes every stage once per test session, with asset bundling skipped."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest

# Before jsii starts: no CloudFormation validation plugin (5 s per synth) and no Node banner.
os.environ.setdefault("CDK_VALIDATION", "false")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App
from aws_cdk.assertions import Template

from infra.reassort_app import ReassortStage, add_stages
from infra.stages import STAGE_NAMES

NO_BUNDLING = {"aws:cdk:bundling-stacks": []}


@dataclass
class SynthesizedStage:
    stage: ReassortStage
    edge: Template
    service: Template
    sms: Template | None = None
    cloudfront_alarms: Template | None = None

    @property
    def service_json(self) -> dict[str, Any]:
        return self.service.to_json()

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return self.service.find_resources(resource_type)


@pytest.fixture(scope="session")
def infra_app() -> tuple[App, dict[str, ReassortStage]]:
    app = App(context=NO_BUNDLING)
    stages = add_stages(app, list(STAGE_NAMES))
    return app, stages


@pytest.fixture(scope="session")
def synthesized(infra_app: tuple[App, dict[str, ReassortStage]]) -> dict[str, SynthesizedStage]:
    _, stages = infra_app
    return {
        name: SynthesizedStage(
            stage,
            Template.from_stack(stage.edge),
            Template.from_stack(stage.service),
            Template.from_stack(stage.sms),
            Template.from_stack(stage.cloudfront_alarms),
        )
        for name, stage in stages.items()
    }


@pytest.fixture(scope="session")
def prod(synthesized: dict[str, SynthesizedStage]) -> SynthesizedStage:
    return synthesized["prod"]


@pytest.fixture(scope="session")
def dev(synthesized: dict[str, SynthesizedStage]) -> SynthesizedStage:
    return synthesized["dev"]


def logical_id_of(stage: SynthesizedStage, construct: Any) -> str:
    return stage.stage.service.get_logical_id(construct.node.default_child)
