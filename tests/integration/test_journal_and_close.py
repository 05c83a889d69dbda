"""The journal against the real handlers and AWS APIs (moto): digests signed by KMS, kept under
Object Lock, exported and verified; and what a link can still do after the close."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest

from reassort.adapters.journal import build_digester, ensure_local_journal
from reassort.config import get_settings
from tests.support.links import token_in
from tests.support.stack import Elector, Stack
from tools import journal as journal_cli
from tools.supervision_target import Target

BUCKET = "reassort-test-journal"
REGION = "eu-west-3"


def _close_in(monkeypatch: pytest.MonkeyPatch, seconds: float) -> float:
    from reassort import wiring

    closes = float(int(time.time() + seconds))
    monkeypatch.setenv("ELECTION_CLOSES_AT", time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(closes)))
    wiring.reset()
    return closes


def _link(stack: Stack, elector: Elector) -> str:
    assert stack.challenge(elector).status == 202
    return token_in(stack.emails()[-1]["body"])


def test_given_a_link_issued_before_the_close_when_redeemed_within_the_grace_then_it_gives_a_code(
    stack: Stack, marie: Elector, monkeypatch: pytest.MonkeyPatch
) -> None:
    closes = _close_in(monkeypatch, 600)
    token = _link(stack, marie)
    stack.clock.value = closes + 29 * 60
    assert stack.check(token).status == 200
    redeemed = stack.redeem(token)
    assert redeemed.status == 200
    assert stack.vote_code_accepted(marie.elector_id, redeemed.body["vote_code"])


def test_given_the_close_when_an_elector_asks_for_a_link_then_it_is_refused_even_within_the_grace(
    stack: Stack, marie: Elector, monkeypatch: pytest.MonkeyPatch
) -> None:
    closes = _close_in(monkeypatch, 600)
    stack.clock.value = closes + 60
    reply = stack.challenge(marie)
    assert reply.status == 403 and reply.body["code"] == "ELECTION_CLOSED"
    assert stack.emails() == []


def test_given_a_link_issued_before_the_close_when_redeemed_after_the_grace_then_the_election_is_closed(
    stack: Stack, marie: Elector, monkeypatch: pytest.MonkeyPatch
) -> None:
    closes = _close_in(monkeypatch, 600)
    token = _link(stack, marie)
    stack.clock.value = closes + 30 * 60
    reply = stack.redeem(token)
    assert reply.status == 403 and reply.body["code"] == "ELECTION_CLOSED"
    assert stack.vote_code_accepted(marie.elector_id, marie.vote_code)


def _journal(stack: Stack) -> tuple[Target, object]:
    kms, s3 = boto3.client("kms", region_name=REGION), boto3.client("s3", region_name=REGION)
    settings = get_settings()
    key_id = ensure_local_journal(settings.stage, kms, s3, BUCKET)
    target = Target(
        stage=settings.stage,
        region=REGION,
        audit_table=settings.audit_table,
        bucket=BUCKET,
        key_id=key_id,
        election_closes_at=settings.election_closes_at,
        close_grace_seconds=settings.close_grace_seconds,
    )
    return target, build_digester(settings, bucket=BUCKET, key_id=key_id, session=boto3.session.Session())


def _journey(stack: Stack, marie: Elector, paul: Elector) -> None:
    token = _link(stack, marie)
    assert stack.redeem(token).status == 200
    assert stack.challenge(paul, answer="faux", identifier=paul.nir10).status == 403


def _export_and_verify(target: Target, folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    assert (
        journal_cli.cmd_export(
            target, journal_cli.build_parser().parse_args(["exporter", "--sortie", str(folder)])
        )
        == 0
    )
    capsys.readouterr()
    code = journal_cli.main(["verify", str(folder), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_given_the_service_audit_when_digested_exported_and_verified_then_it_matches(
    stack: Stack, marie: Elector, paul: Elector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target, digester = _journal(stack)
    _journey(stack, marie, paul)
    run = digester.run(int((stack.clock.now() + 180) * 1000))  # type: ignore[attr-defined]
    assert run.digest is not None and run.digest.body["record_count"] == 5
    code, report = _export_and_verify(target, tmp_path / "export", capsys)
    assert code == 0, report
    assert report["records_verified"] == report["records"] == run.digest.body["record_count"]
    text = (tmp_path / "export" / "digests" / "00000000.json").read_text()
    assert marie.elector_id not in text and "gmail" not in text


def test_given_an_audit_record_changed_in_the_table_when_verified_then_the_change_is_reported(
    stack: Stack, marie: Elector, paul: Elector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target, digester = _journal(stack)
    _journey(stack, marie, paul)
    digester.run(int((stack.clock.now() + 180) * 1000))  # type: ignore[attr-defined]
    table = get_settings().audit_table
    items = stack.scan(table)
    wrong = next(i for i in items if i["outcome"]["S"] == "wrong_credentials")
    stack.dynamodb.update_item(
        TableName=table,
        Key={"elector_id": wrong["elector_id"], "event_key": wrong["event_key"]},
        UpdateExpression="SET outcome = :o",
        ExpressionAttributeValues={":o": {"S": "success"}},
    )
    redeemed = next(i for i in items if i["event"]["S"] == "redeem")
    stack.dynamodb.delete_item(
        TableName=table, Key={"elector_id": redeemed["elector_id"], "event_key": redeemed["event_key"]}
    )
    code, report = _export_and_verify(target, tmp_path / "export", capsys)
    assert code == 1
    assert sorted(f["code"] for f in report["findings"] if f["severity"] == "erreur") == [
        "record_altered",
        "record_removed",
    ]


def test_given_a_stored_digest_when_someone_deletes_it_then_object_lock_refuses(stack: Stack) -> None:
    _, digester = _journal(stack)
    run = digester.run(int(time.time() * 1000))
    assert run.digest is not None
    s3 = boto3.client("s3", region_name=REGION)
    version = s3.list_object_versions(Bucket=BUCKET)["Versions"][0]
    with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])


def test_given_the_digester_function_when_scheduled_then_it_writes_the_next_digest(
    stack: Stack, marie: Elector, monkeypatch: pytest.MonkeyPatch
) -> None:
    from journal_digest.handler import lambda_handler

    _, _ = _journal(stack)
    _link(stack, marie)
    kms = boto3.client("kms", region_name=REGION)
    monkeypatch.setenv("JOURNAL_BUCKET", BUCKET)
    monkeypatch.setenv(
        "JOURNAL_KEY_ID",
        kms.describe_key(KeyId=f"alias/reassort-{get_settings().stage}-journal")["KeyMetadata"]["KeyId"],
    )
    monkeypatch.setenv("JOURNAL_SETTLE_SECONDS", "0")
    time.sleep(0.01)
    first = lambda_handler({}, None)
    assert first["outcome"] == "digested" and first["sequence"] == 0 and first["record_count"] >= 3
    assert first["lag_seconds"] >= 0
    second = lambda_handler({}, None)
    assert second["sequence"] == 1
