"""The local DynamoDB engine: started on a free port, stopped, and a clear French message when it
cannot start."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from local.dynamodb_engine import DynamoEngine, EngineUnavailable


def test_given_the_engine_when_started_twice_then_each_has_its_own_port_and_both_answer() -> None:
    with DynamoEngine() as first, DynamoEngine() as second:
        assert first.port != second.port
        for engine in (first, second):
            client = boto3.client(
                "dynamodb",
                endpoint_url=engine.url,
                region_name="eu-west-3",
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
            assert client.list_tables()["TableNames"] == []


def test_given_a_stopped_engine_then_its_port_no_longer_answers() -> None:
    engine = DynamoEngine().start()
    url = engine.url
    engine.stop()
    client = boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="eu-west-3",
        aws_access_key_id="l",
        aws_secret_access_key="l",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(EndpointConnectionError):
        client.list_tables()


def test_given_no_engine_binary_then_the_message_says_in_french_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DYNOXIDE_BIN", str(tmp_path / "absent"))
    with pytest.raises(EngineUnavailable, match="n'est pas exécutable : relancez `make node`"):
        DynamoEngine().start()


def test_given_a_binary_that_dies_at_start_then_the_message_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "dynoxide"
    broken.write_text("#!/bin/sh\necho 'base de données illisible' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv("DYNOXIDE_BIN", str(broken))
    with pytest.raises(EngineUnavailable, match="n'a pas démarré : base de données illisible"):
        DynamoEngine().start()
