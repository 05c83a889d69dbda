"""`reassort-seal`, `reassort-journal` and the figures against the running local stack."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import boto3
import pytest

from tests.supervision.conftest import ROOT, LocalStackProcess
from tools import figures as figures_cli
from tools import journal as journal_cli
from tools import seal as seal_cli


def _run(main, args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """A copy of what the seal reads from the repository, so the test can change it."""
    root = tmp_path / "release"
    shutil.copytree(ROOT / "functions", root / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "web", root / "web", ignore=shutil.ignore_patterns("vendor"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize("command", [seal_cli.main, journal_cli.main, figures_cli.main])
def test_given_the_clis_when_asked_for_help_then_they_answer_in_french(command, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        command(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "utilisation :" in out and "afficher cette aide et quitter" in out


def test_given_a_sealed_local_stack_when_a_page_then_a_function_file_changes_then_each_is_reported(
    local_stack: LocalStackProcess, release: Path, tmp_path: Path, capsys
) -> None:
    manifest = tmp_path / "sceau.json"
    code, out = _run(
        seal_cli.main,
        ["seal", "--local", local_stack.base_url, "--racine", str(release), "--sortie", str(manifest)],
        capsys,
    )
    assert code == 0
    digest = json.loads(manifest.read_text())["digest"]
    assert digest in out
    verify = [
        "verify",
        "--local",
        local_stack.base_url,
        "--racine",
        str(release),
        "--manifeste",
        str(manifest),
    ]
    code, out = _run(seal_cli.main, [*verify, "--empreinte", digest], capsys)
    assert code == 0 and "CONFORME" in out

    page = release / "web" / "reassort" / "code-vote.html"
    original = page.read_bytes()
    page.write_bytes(original + b"\n<script src='https://evil.example/x.js'></script>\n")
    code, out = _run(seal_cli.main, verify, capsys)
    assert code == 1
    assert "modifié : pages/reassort/code-vote.html" in out and out.count("modifié") == 1
    page.write_bytes(original)

    function = release / "functions" / "reassort" / "domain" / "codes.py"
    function.write_text(function.read_text() + "\n# changed\n")
    code, out = _run(seal_cli.main, verify, capsys)
    assert code == 1 and "modifié : code/reassort/domain/codes.py" in out and out.count("modifié") == 1

    (release / "functions" / "reassort" / "backdoor.py").write_text("x = 1\n")
    code, out = _run(seal_cli.main, verify, capsys)
    assert "ajouté : code/reassort/backdoor.py" in out


def test_given_a_sealed_local_stack_when_a_setting_changes_then_it_is_reported(
    local_stack: LocalStackProcess, start_stack, release: Path, tmp_path: Path, capsys
) -> None:
    manifest = tmp_path / "sceau.json"
    _run(
        seal_cli.main,
        ["seal", "--local", local_stack.base_url, "--racine", str(release), "--sortie", str(manifest)],
        capsys,
    )
    changed = start_stack({"LINK_TTL_SECONDS": "1800"})
    code, out = _run(
        seal_cli.main,
        ["verify", "--local", changed.base_url, "--racine", str(release), "--manifeste", str(manifest)],
        capsys,
    )
    assert code == 1
    assert "settings.link_ttl_seconds: 3600 → 1800" in out and "rules.link_ttl_seconds: 3600 → 1800" in out
    assert "pages/" not in out and "code/" not in out


def test_given_a_tampered_seal_manifest_when_verified_then_it_is_refused(
    local_stack: LocalStackProcess, release: Path, tmp_path: Path, capsys
) -> None:
    manifest = tmp_path / "sceau.json"
    _run(
        seal_cli.main,
        ["seal", "--local", local_stack.base_url, "--racine", str(release), "--sortie", str(manifest)],
        capsys,
    )
    data = json.loads(manifest.read_text())
    data["entries"]["code/reassort/domain/codes.py"] = "0" * 64
    manifest.write_text(json.dumps(data))
    code, out = _run(
        seal_cli.main,
        ["verify", "--local", local_stack.base_url, "--racine", str(release), "--manifeste", str(manifest)],
        capsys,
    )
    assert code == 1 and "a été modifié" in out


def test_given_a_rehearsal_when_digested_exported_and_tampered_then_verify_reports_it(
    local_stack: LocalStackProcess, tmp_path: Path, capsys
) -> None:
    elector = local_stack.electors[0]
    assert local_stack.challenge(elector, "mauvaise réponse") == 403
    assert local_stack.challenge(elector, elector["answer"]) == 202
    time.sleep(0.01)
    code, out = _run(journal_cli.main, ["digest", "--local", local_stack.base_url, "--attente", "0"], capsys)
    assert code == 0 and "condensé n°" in out
    export = tmp_path / "export"
    assert (
        _run(journal_cli.main, ["export", "--local", local_stack.base_url, "--sortie", str(export)], capsys)[
            0
        ]
        == 0
    )
    code, out = _run(journal_cli.main, ["verify", str(export)], capsys)
    assert code == 0 and "CONFORME" in out
    assert "Délai entre un enregistrement et son condensé" in out

    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=local_stack.dynamodb_url,
        region_name="eu-west-3",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    items = dynamodb.scan(TableName="reassort-audit")["Items"]
    wrong = next(i for i in items if i["outcome"]["S"] == "wrong_credentials")
    dynamodb.delete_item(
        TableName="reassort-audit", Key={"elector_id": wrong["elector_id"], "event_key": wrong["event_key"]}
    )
    tampered = tmp_path / "tampered"
    _run(journal_cli.main, ["export", "--local", local_stack.base_url, "--sortie", str(tampered)], capsys)
    code, out = _run(journal_cli.main, ["verify", str(tampered)], capsys)
    assert code == 1 and "NON CONFORME" in out and "(record_removed)" in out

    (export / "digests" / "00000000.json").unlink()
    code, out = _run(journal_cli.main, ["verify", str(export)], capsys)
    assert code == 1 and ("(record_unverifiable)" in out or "(no_digest)" in out)


def test_given_the_local_stack_before_its_close_when_closing_then_it_is_too_early(
    local_stack: LocalStackProcess, capsys
) -> None:
    code, out = _run(journal_cli.main, ["close", "--local", local_stack.base_url], capsys)
    assert code == 2 and "Trop tôt" in out


def test_given_a_stack_past_its_close_when_closing_then_a_final_digest_is_written_and_verifies(
    start_stack, tmp_path: Path, capsys
) -> None:
    closes = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 2))
    stack = start_stack({"ELECTION_CLOSES_AT": closes, "CLOSE_GRACE_SECONDS": "0"})
    time.sleep(3)
    code, out = _run(journal_cli.main, ["close", "--local", stack.base_url, "--attente", "0"], capsys)
    assert code == 0 and "(FINAL)" in out
    final_hash = out.split("empreinte : ")[1].split()[0]
    code, out = _run(journal_cli.main, ["digest", "--local", stack.base_url, "--attente", "0"], capsys)
    assert "journal clos" in out
    export = tmp_path / "export"
    _run(journal_cli.main, ["export", "--local", stack.base_url, "--sortie", str(export)], capsys)
    code, out = _run(journal_cli.main, ["verify", str(export), "--condense-final", final_hash], capsys)
    assert code == 0 and "Condensé final" in out


def test_given_a_rehearsal_when_the_figures_are_read_then_page_json_and_cli_agree(
    local_stack: LocalStackProcess, capsys
) -> None:
    elector = local_stack.electors[1]
    before = local_stack.request("GET", "/local/figures.json")[1]["totals"]["answers_wrong"]
    assert local_stack.challenge(elector, "mauvaise réponse") == 403
    status, data = local_stack.request("GET", "/local/figures.json")
    assert status == 200 and data["totals"]["answers_wrong"] == before + 1
    status, page = local_stack.request("GET", "/local/figures")
    assert status == 200 and "Réponses fausses" in page and 'id="par-heure"' in page
    code, out = _run(figures_cli.main, ["--local", local_stack.base_url, "--json"], capsys)
    assert code == 0 and json.loads(out)["totals"] == data["totals"]
    assert elector["elector_id"] not in page and elector["elector_id"] not in out


def test_given_a_wrong_command_line_when_parsed_then_the_error_is_in_french(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        journal_cli.main(["verify"])
    assert done.value.code == 2
    assert "erreur : arguments obligatoires manquants : DOSSIER" in capsys.readouterr().err
