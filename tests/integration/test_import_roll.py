"""Roll import against moto: report, idempotency, state preserved, resume, no secret in output."""

from __future__ import annotations

import csv
import json
import logging
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.tables import create_tables
from reassort.adapters.dynamodb import DynamoElectorStore
from reassort.adapters.system import Argon2Profile, SecretHasher
from reassort.config import Settings
from reassort.roll.worker import WorkerConfig
from tools import import_roll, synthetic_roll
from tools.import_roll import Options, run_import

ROOT = Path(__file__).resolve().parents[2]
CHEAP = Argon2Profile(memory_kib=64, time_cost=1, parallelism=1)
TABLE = "reassort-electors"
KEY = b"i" * 32


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-3")
        create_tables(client, Settings(argon2_memory_kib=64))
        yield client


def config(**changes: Any) -> WorkerConfig:
    return WorkerConfig(electors_table=TABLE, identity_key=KEY, profile=CHEAP, **changes)


def options(tmp_path: Path, roll: Path, **changes: Any) -> Options:
    values: dict[str, Any] = {
        "csv_path": roll,
        "report_path": tmp_path / "report.csv",
        "checkpoint_path": tmp_path / "checkpoint.json",
        "processes": 1,
        "chunk_size": 4,
        "dry_run": False,
        "restart": False,
        "progress": False,
    }
    values.update(changes)
    return Options(**values)


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def synthetic(tmp_path: Path, count: int = 10) -> tuple[Path, list[dict[str, str]]]:
    roll = tmp_path / "roll.csv"
    synthetic_roll.write_roll(count, roll, tmp_path / "secrets.csv", plaintext=True, pool_size=3)
    with roll.open(newline="", encoding="utf-8") as handle:
        return roll, list(csv.DictReader(handle))


def items(client: Any) -> dict[str, dict[str, Any]]:
    found = client.scan(TableName=TABLE)["Items"]
    return {item["elector_id"]["S"]: item for item in found}


def report(tmp_path: Path) -> list[dict[str, str]]:
    with (tmp_path / "report.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_given_plaintext_roll_when_imported_then_electors_hold_hashes_that_verify(dynamodb, tmp_path):
    roll, rows = synthetic(tmp_path, 10)
    counts = run_import(options(tmp_path, roll), config(), client=dynamodb)
    assert counts["created"] == 10 and counts["rejected"] == 0
    elector = DynamoElectorStore(TABLE, dynamodb).get(rows[2]["elector_id"])
    assert elector is not None
    hasher = SecretHasher(CHEAP)
    assert hasher.verify(elector.vote_code_hash, rows[2]["vote_code"])
    assert hasher.verify(elector.numen_hash, rows[2]["numen"])
    assert elector.identity_digest and elector.pro_email == rows[2]["pro_email"]
    assert report(tmp_path) == []


def test_given_the_same_file_twice_when_imported_then_nothing_changes(dynamodb, tmp_path):
    roll, _rows = synthetic(tmp_path, 10)
    run_import(options(tmp_path, roll), config(), client=dynamodb)
    before = items(dynamodb)
    counts = run_import(options(tmp_path, roll, restart=True), config(), client=dynamodb)
    assert counts["unchanged"] == 10
    assert counts["hashed"] == 0 and counts["created"] == 0 and counts["updated"] == 0
    assert items(dynamodb) == before


def test_given_a_corrected_row_when_reimported_then_only_it_updates_and_state_is_preserved(
    dynamodb, tmp_path
):
    roll, rows = synthetic(tmp_path, 6)
    run_import(options(tmp_path, roll), config(), client=dynamodb)
    target = rows[1]["elector_id"]
    # the elector has been living: failures, a lock, links and a reissued code
    dynamodb.update_item(
        TableName=TABLE,
        Key={"elector_id": {"S": target}},
        UpdateExpression=(
            "SET failed_attempts = :f, locked_until = :l, link_generation = :g, recent_links = :r, "
            "vote_code_hash = :h, code_changed_at = :l"
        ),
        ExpressionAttributeValues={
            ":f": {"N": "3"},
            ":l": {"N": "1900000000"},
            ":g": {"N": "2"},
            ":r": {"M": {"abcd": {"N": "1800000000"}}},
            ":h": {"S": "reissued-hash"},
        },
    )
    rows[1]["display_name"] = "Dominique Martin-Durand"
    rows[1]["nir10"] = ""  # the corrected row no longer has a NIR: it is removed
    rows[1]["numen"] = "12E3456789ABC"
    corrected = write_csv(tmp_path / "roll.csv", rows)
    counts = run_import(options(tmp_path, corrected, restart=True), config(), client=dynamodb)
    assert counts["updated"] == 1 and counts["unchanged"] == 5
    item = items(dynamodb)[target]
    assert item["display_name"]["S"] == "Dominique Martin-Durand"
    assert "nir_hash" not in item
    assert SecretHasher(CHEAP).verify(item["numen_hash"]["S"], "12E3456789ABC")
    assert item["failed_attempts"] == {"N": "3"}
    assert item["locked_until"] == {"N": "1900000000"}
    assert item["link_generation"] == {"N": "2"}
    assert item["recent_links"] == {"M": {"abcd": {"N": "1800000000"}}}
    # same vote code in the roll: the reissued one stays
    assert item["vote_code_hash"] == {"S": "reissued-hash"}


def test_given_a_new_vote_code_after_a_reissue_when_reimported_then_the_reissued_code_is_kept(
    dynamodb, tmp_path
):
    roll, rows = synthetic(tmp_path, 3)
    run_import(options(tmp_path, roll), config(), client=dynamodb)
    reissued, untouched = rows[0]["elector_id"], rows[1]["elector_id"]
    dynamodb.update_item(
        TableName=TABLE,
        Key={"elector_id": {"S": reissued}},
        UpdateExpression="SET vote_code_hash = :h, code_changed_at = :t",
        ExpressionAttributeValues={":h": {"S": "reissued-hash"}, ":t": {"N": "1800000000"}},
    )
    rows[0]["vote_code"] = "Nn4!Pp5$Qq6+"
    rows[1]["vote_code"] = "Rr7!Ss8$Tt9+"
    run_import(options(tmp_path, write_csv(roll, rows), restart=True), config(), client=dynamodb)
    now = items(dynamodb)
    assert now[reissued]["vote_code_hash"] == {"S": "reissued-hash"}
    assert SecretHasher(CHEAP).verify(now[untouched]["vote_code_hash"]["S"], "Rr7!Ss8$Tt9+")
    problems = report(tmp_path)
    assert [(p["row"], p["field"], p["code"]) for p in problems] == [
        ("2", "vote_code_hash", "vote_code_kept_after_reissue")
    ]


def test_given_bad_rows_when_imported_then_report_names_row_and_field_and_never_a_secret(
    dynamodb, tmp_path, capsys, caplog
):
    caplog.set_level(logging.DEBUG)
    roll, rows = synthetic(tmp_path, 4)
    rows[1]["numen"] = "SECRET-NUMEN-4"
    rows[1]["nir10"] = ""
    rows[2]["pro_email"] = "not an address"
    rows[3]["elector_id"] = rows[0]["elector_id"]
    rows[3]["answer"] = "Réponse Très Secrète"
    bad = write_csv(roll, rows)
    counts = run_import(options(tmp_path, bad), config(), client=dynamodb)
    assert counts["created"] == 1 and counts["rejected"] == 3
    assert [(p["row"], p["field"], p["code"]) for p in report(tmp_path)] == [
        ("3", "numen", "invalid_numen"),
        ("4", "pro_email", "invalid_email"),
        ("5", "elector_id", "duplicate_elector_id"),
    ]
    output = (tmp_path / "report.csv").read_text() + capsys.readouterr().err + caplog.text
    for secret in ("SECRET-NUMEN-4", "not an address", "Réponse Très Secrète", rows[0]["vote_code"]):
        assert secret not in output
    assert set(items(dynamodb)) == {rows[0]["elector_id"]}


def test_given_an_interruption_when_rerun_then_it_resumes_after_the_last_finished_chunk(
    dynamodb, tmp_path, monkeypatch
):
    roll, _rows = synthetic(tmp_path, 10)  # chunks of 4: [0..3] [4..7] [8, 9]
    real = import_roll.process_chunk
    seen: list[int] = []

    def failing(rows, *args, **kwargs):
        seen.append(rows[0][0])
        if len(seen) == 2:
            raise KeyboardInterrupt
        return real(rows, *args, **kwargs)

    monkeypatch.setattr(import_roll, "process_chunk", failing)
    with pytest.raises(KeyboardInterrupt):
        run_import(options(tmp_path, roll), config(), client=dynamodb)
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    assert state["done_below"] == 1 and len(items(dynamodb)) == 4

    seen.clear()
    monkeypatch.setattr(
        import_roll, "process_chunk", lambda rows, *a, **k: seen.append(rows[0][0]) or real(rows, *a, **k)
    )
    counts = run_import(options(tmp_path, roll), config(), client=dynamodb)
    assert seen == [6, 10]  # first rows (file lines) of the two chunks not done
    assert len(items(dynamodb)) == 10
    assert counts["created"] == 10


def test_given_a_checkpoint_of_another_file_when_resumed_then_refused(dynamodb, tmp_path):
    roll, rows = synthetic(tmp_path, 5)
    run_import(options(tmp_path, roll), config(), client=dynamodb)
    rows[0]["display_name"] = "Autre"
    write_csv(roll, rows)
    with pytest.raises(import_roll.UnusableInput, match="--restart"):
        run_import(options(tmp_path, roll), config(), client=dynamodb)


def test_given_dry_run_when_imported_then_nothing_is_written(dynamodb, tmp_path):
    roll, _rows = synthetic(tmp_path, 5)
    counts = run_import(options(tmp_path, roll, dry_run=True), config(dry_run=True), client=dynamodb)
    assert counts["valid"] == 5
    assert items(dynamodb) == {}
    assert not (tmp_path / "checkpoint.json").exists()


def test_given_the_cli_when_run_then_it_imports_with_the_service_settings_and_prints_no_secret(
    dynamodb, tmp_path, monkeypatch, capsys
):
    roll, rows = synthetic(tmp_path, 4)
    monkeypatch.setenv(
        "LOCAL_SECRETS", json.dumps({"link_hmac_key": "l-" * 20, "identity_hmac_key": "i-" * 20})
    )
    monkeypatch.setenv("ARGON2_MEMORY_KIB", "64")
    monkeypatch.setenv("ARGON2_TIME_COST", "1")
    monkeypatch.setenv("ELECTORS_TABLE", TABLE)
    # the in-process moto backend is only visible from this process
    monkeypatch.setattr(import_roll.os, "cpu_count", lambda: 1)
    assert import_roll.main([str(roll), "--no-progress", "--chunk-size", "2"]) == 0
    err = capsys.readouterr().err
    assert "created 4" in err
    assert all(r["answer"] not in err and r["vote_code"] not in err for r in rows)
    assert import_roll.main([str(roll), "--no-progress", "--chunk-size", "2", "--restart"]) == 0
    assert "unchanged 4" in capsys.readouterr().err
    bad = write_csv(tmp_path / "bad.csv", [{**rows[0], "pro_email": ""}])
    assert import_roll.main([str(bad), "--no-progress", "--dry-run"]) == 1
    header = write_csv(tmp_path / "header.csv", [{"elector_id": "E1", "anwser": "x"}])
    assert import_roll.main([str(header), "--no-progress"]) == 2


# ---------------------------------------------------------------- files as administrations export them
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "LOCAL_SECRETS", json.dumps({"link_hmac_key": "l-" * 20, "identity_hmac_key": "i-" * 20})
    )
    monkeypatch.setenv("ARGON2_MEMORY_KIB", "64")
    monkeypatch.setenv("ARGON2_TIME_COST", "1")
    monkeypatch.setenv("ELECTORS_TABLE", TABLE)
    monkeypatch.setattr(import_roll.os, "cpu_count", lambda: 1)


def excel_cp1252(tmp_path: Path, count: int, accented_row: int) -> tuple[Path, list[dict[str, str]]]:
    """The synthetic roll saved as Excel does by default: Windows-1252, an accent on one row."""
    roll, rows = synthetic(tmp_path, count)
    for row in rows:  # only the chosen row has a character outside ASCII
        for name, value in row.items():
            row[name] = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    rows[accented_row - 2]["display_name"] = "Hélène Dupré"
    write_csv(roll, rows)
    roll.write_bytes(roll.read_text(encoding="utf-8").encode("cp1252"))
    return roll, rows


@pytest.mark.parametrize("dry_run", [True, False])
def test_given_an_excel_cp1252_file_when_imported_then_refused_up_front_in_french_with_the_line(
    dynamodb, tmp_path, monkeypatch, capsys, dry_run
):
    cli_env(monkeypatch)
    roll, _rows = excel_cp1252(tmp_path, 12, accented_row=11)
    argv = [str(roll), "--no-progress", "--chunk-size", "2", *(["--dry-run"] if dry_run else [])]
    assert import_roll.main(argv) == 2
    err = capsys.readouterr().err
    assert "pas en UTF-8" in err and "ligne 11" in err and "--encoding cp1252" in err
    assert "Traceback" not in err
    assert items(dynamodb) == {}  # nothing written before the bad byte either


def test_given_an_excel_cp1252_file_when_its_encoding_is_given_then_it_imports_with_its_accents(
    dynamodb, tmp_path, monkeypatch, capsys
):
    cli_env(monkeypatch)
    roll, rows = excel_cp1252(tmp_path, 5, accented_row=3)
    assert import_roll.main([str(roll), "--no-progress", "--encoding", "cp1252"]) == 0
    assert items(dynamodb)[rows[1]["elector_id"]]["display_name"] == {"S": "Hélène Dupré"}


def test_given_a_semicolon_file_when_imported_then_the_separator_is_found_and_rows_import(
    dynamodb, tmp_path, monkeypatch, capsys
):
    cli_env(monkeypatch)
    roll, rows = synthetic(tmp_path, 4)
    with roll.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    assert import_roll.main([str(roll), "--no-progress"]) == 0
    assert set(items(dynamodb)) == {r["elector_id"] for r in rows}
    assert "created 4" in capsys.readouterr().err


def test_given_a_header_with_no_known_separator_when_imported_then_refused_naming_the_separator(
    dynamodb, tmp_path, monkeypatch, capsys
):
    cli_env(monkeypatch)
    roll = tmp_path / "roll.csv"
    roll.write_text("elector_id|display_name|pro_email\nE1|A|a@ac-paris.fr\n", encoding="utf-8")
    assert import_roll.main([str(roll), "--no-progress", "--dry-run"]) == 2
    assert "séparateur lu : virgule" in capsys.readouterr().err
    assert [r["code"] for r in report_at(tmp_path / "roll.csv.report.csv")] == [
        "unknown_column",
        "missing_column",
        "missing_column",
        "missing_column",
    ]


def report_at(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_given_extra_cells_and_a_duplicate_when_imported_then_french_report_names_both_lines(
    dynamodb, tmp_path
):
    roll, rows = synthetic(tmp_path, 4)
    rows[3]["elector_id"] = rows[1]["elector_id"]
    write_csv(roll, rows)
    lines = roll.read_text(encoding="utf-8").splitlines()
    lines[2] += ",cellule en trop"  # row 3 of the file
    roll.write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts = run_import(options(tmp_path, roll), config(), client=dynamodb)
    assert counts["rejected"] == 2
    found = {(p["row"], p["code"]): p["message"] for p in report(tmp_path)}
    assert set(found) == {("3", "extra_cells"), ("5", "duplicate_elector_id")}
    assert found[("5", "duplicate_elector_id")].endswith("première occurrence ligne 3")
    assert "plus de cellules que l'en-tête" in found[("3", "extra_cells")]


def test_given_no_identity_key_when_imported_then_configuration_error_exits_2_in_french(
    dynamodb, tmp_path, monkeypatch, capsys
):
    cli_env(monkeypatch)
    monkeypatch.delenv("LOCAL_SECRETS")
    monkeypatch.delenv("SECRETS_ID", raising=False)
    roll, _rows = synthetic(tmp_path, 2)
    assert import_roll.main([str(roll), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("import impossible : clé d'identité introuvable") and "Traceback" not in err


def test_given_a_finished_import_when_run_again_then_it_says_nothing_to_do(
    dynamodb, tmp_path, monkeypatch, capsys
):
    cli_env(monkeypatch)
    roll, _rows = synthetic(tmp_path, 4)
    assert import_roll.main([str(roll), "--no-progress", "--chunk-size", "2"]) == 0
    capsys.readouterr()
    assert import_roll.main([str(roll), "--no-progress", "--chunk-size", "2"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("rien à faire") and "created" not in err


def test_given_a_failure_in_a_chunk_when_it_stops_the_run_then_the_finished_chunks_are_checkpointed(
    dynamodb, tmp_path, monkeypatch
):
    roll, _rows = synthetic(tmp_path, 10)
    real = import_roll.process_chunk
    calls: list[int] = []

    def failing(rows, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("table deleted")
        return real(rows, *args, **kwargs)

    monkeypatch.setattr(import_roll, "process_chunk", failing)
    with pytest.raises(RuntimeError):
        run_import(options(tmp_path, roll), config(), client=dynamodb)
    assert json.loads((tmp_path / "checkpoint.json").read_text())["done_below"] == 2


def test_given_rows_when_imported_then_progress_moves_with_rows_inside_a_chunk(
    dynamodb, tmp_path, monkeypatch
):
    roll, rows = synthetic(tmp_path, 30)
    steps: list[int] = []
    real = import_roll.process_chunk

    def watched(rows, config, client, hasher, progress):
        return real(rows, config, client, hasher, lambda n: (steps.append(n), progress(n)))

    monkeypatch.setattr(import_roll, "process_chunk", watched)
    run_import(options(tmp_path, roll, chunk_size=30), config(), client=dynamodb)
    assert [n for n in steps if n] == [25, 5]  # created: hashed and written 25 at a time
    rows[0]["display_name"] = rows[1]["display_name"] = "Nom corrigé"
    steps.clear()
    again = options(tmp_path, write_csv(roll, rows), restart=True, chunk_size=30)
    run_import(again, config(), client=dynamodb)
    assert sorted(n for n in steps if n) == [1, 1, 28]  # updated one by one, the rest unchanged


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_given_ctrl_c_during_a_parallel_import_when_pressed_then_it_stops_within_two_seconds_and_resumes(
    tmp_path,
):
    import os
    import signal
    import subprocess
    import sys
    import time

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server._server.server_port}"  # type: ignore[attr-defined]
        client = boto3.client("dynamodb", region_name="eu-west-3", endpoint_url=endpoint)
        create_tables(client, Settings(argon2_memory_kib=64))
        roll, _rows = synthetic(tmp_path, 400)
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": "eu-west-3",
            "ELECTORS_TABLE": TABLE,
            "LOCAL_SECRETS": json.dumps({"link_hmac_key": "l-" * 20, "identity_hmac_key": "i-" * 20}),
            # costly enough that a chunk of 4 rows takes a fraction of a second
            "ARGON2_MEMORY_KIB": "8192",
            "ARGON2_TIME_COST": "2",
        }
        command = [sys.executable, "-m", "tools.import_roll", str(roll), "--processes", "2"]
        command += ["--chunk-size", "4", "--no-progress"]
        checkpoint = roll.with_name("roll.csv.checkpoint.json")
        process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        deadline = time.monotonic() + 60
        while not checkpoint.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpoint.exists(), "no chunk finished"
        process.send_signal(signal.SIGINT)
        pressed = time.monotonic()
        _out, err = process.communicate(timeout=30)
        stopped_after = time.monotonic() - pressed
        assert process.returncode == 130, err
        assert stopped_after < 2.0
        assert "Traceback" not in err and "point de reprise enregistré" in err
        saved = json.loads(checkpoint.read_text())
        # with two processes chunk 1 may finish before chunk 0: it is then kept in done_extra
        done_before = saved["done_below"] + len(saved["done_extra"])
        assert 1 <= done_before < 100
        env["ARGON2_MEMORY_KIB"], env["ARGON2_TIME_COST"] = "64", "1"
        again = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert again.returncode == 0, again.stderr
        assert "reprise :" in again.stderr
        assert client.scan(TableName=TABLE, Select="COUNT")["Count"] == 400
    finally:
        server.stop()
