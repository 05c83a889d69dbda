"""Load kit (never imports locust here: it monkey-patches the test process): the journey helpers, the election-day shape, and a short headless run."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools.load import journeys

ROOT = Path(__file__).resolve().parents[2]


def test_given_an_outbox_when_searched_then_the_newest_link_to_the_destination_is_found():
    outbox = {
        "messages": [
            {"seq": 1, "to": ["a@example.org"], "body": "", "links": ["https://x/reassort/code-vote#t=old"]},
            {
                "seq": 2,
                "to": ["b@example.org"],
                "body": "",
                "links": ["https://x/reassort/code-vote#t=other"],
            },
            {"seq": 3, "to": ["a@example.org"], "body": "https://x/reassort/code-vote#t=new_-1", "links": []},
        ]
    }
    assert journeys.find_token(outbox, "a@example.org") == ("new_-1", 3)
    assert journeys.find_token(outbox, "a@example.org", after_seq=3) == (None, 3)
    assert journeys.find_token(outbox, "c@example.org") == (None, 0)


def test_given_two_workers_when_loading_the_roll_then_each_gets_a_disjoint_half(tmp_path):
    from tools.synthetic_roll import write_roll

    write_roll(10, tmp_path / "r.csv", tmp_path / "s.csv", plaintext=True)
    first = journeys.load_electors(tmp_path / "s.csv", 0, 2)
    second = journeys.load_electors(tmp_path / "s.csv", 1, 2)
    assert len(first) == len(second) == 5
    assert not {e.elector_id for e in first} & {e.elector_id for e in second}
    pool = journeys.ElectorPool(first)
    assert [pool.take().elector_id for _ in range(6)][5] == first[0].elector_id
    assert "demo-" not in repr(first[0])


def test_given_the_election_day_shape_when_sampled_then_opening_and_last_hour_peak():
    total, base = 1000, 10
    assert journeys.users_at(10, total, base) == 10
    assert journeys.users_at(100, total, base) == 30  # opening rush ×3
    assert journeys.users_at(400, total, base) == 10
    assert journeys.users_at(700, total, base) == 45  # last hour ×4.5
    assert journeys.users_at(980, total, base) == 5
    assert journeys.users_at(1000, total, base) is None


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_given_the_local_stack_when_a_short_headless_run_is_made_then_journeys_complete_without_failure(
    tmp_path,
):
    out = tmp_path / "load"
    command = [
        sys.executable, "-m", "tools.load.run",
        "--electors", "40", "--duration", "12s", "--users", "2", "--spawn-rate", "2",
        "--think", "0.2", "--out", str(out),
        # the roll imported by reassort-import-roll into the running stack, sessions signed by
        # the load-test issuer: the same plug-ins as against a stage
        "--roll-via", "cli", "--login", "test-issuer",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=170)
    assert result.returncode == 0, result.stderr[-2000:]
    with (out / "load_stats.csv").open(newline="") as handle:
        stats = {row["Name"]: row for row in csv.DictReader(handle)}
    assert int(stats["Aggregated"]["Failure Count"]) == 0
    assert int(stats["POST /api/links/redeem"]["Request Count"]) > 0
    assert (out / "report.html").stat().st_size > 0
    run = json.loads((out / "run.json").read_text())
    # the summary counts every request, also those that ended after Locust's last CSV rewrite
    routes = run["routes"]
    assert (out / "final_stats.json").is_file()
    assert routes["Aggregated"]["requests"] == sum(
        v["requests"] for k, v in routes.items() if k != "Aggregated"
    )
    assert routes["Aggregated"]["requests"] >= int(stats["Aggregated"]["Request Count"])
    assert run["argon2"]["verify_ms"] > 0
    assert run["challenge"]["function_invocations"] > 0
    assert run["privacy"]["items_scanned"] > 0 and run["privacy"]["findings"] == []
    assert (out / "stack.log").stat().st_size > 0


def test_given_a_sent_outbox_when_filtered_by_recipient_and_seq_then_only_the_new_messages_come_back():
    import boto3
    from moto import mock_aws

    from local.outbox import Outbox

    with mock_aws():
        ses = boto3.client("sesv2", region_name="eu-west-3")
        sns = boto3.client("sns", region_name="eu-west-3")
        ses.create_email_identity(EmailIdentity="noreply@example.gouv.fr")
        outbox = Outbox("123456789012", "eu-west-3")
        sns.publish(PhoneNumber="+33755512502", Message="warm-up")  # creates the SNS backend
        outbox.install()
        base = outbox.last_seq()

        def mail(to: str, text: str) -> None:
            ses.send_email(
                FromEmailAddress="noreply@example.gouv.fr",
                Destination={"ToAddresses": [to]},
                Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": text}}}},
            )

        mail("A@example.org", "https://x/reassort/code-vote#t=first")
        sns.publish(PhoneNumber="+33755512501", Message="https://x/reassort/code-vote#t=sms")
        mail("b@example.org", "other")
        mail("a@example.org", "https://x/reassort/code-vote#t=second")

        everything = outbox.as_json(after=base)
        assert [m["kind"] for m in everything["messages"]] == ["email", "sms", "email", "email"]
        assert everything["last_seq"] == base + 4
        to_a = outbox.as_json(after=base, to="a@example.org")["messages"]
        assert [m["seq"] for m in to_a] == [base + 1, base + 4]
        assert journeys.find_token({"messages": to_a}, "a@example.org", base) == ("second", base + 4)
        assert outbox.as_json(after=base + 4, to="a@example.org")["messages"] == []
        assert outbox.as_json(after=base, to="+33755512501")["messages"][0]["links"] == [
            "https://x/reassort/code-vote#t=sms"
        ]
        assert outbox.as_json(after=base + 3)["messages"][0]["seq"] == base + 4


def test_given_secrets_in_a_log_when_scanned_then_each_kind_is_reported_without_its_value(tmp_path):
    from tools import privacy_scan
    from tools.synthetic_roll import write_roll

    write_roll(6, tmp_path / "r.csv", tmp_path / "s.csv", plaintext=True)
    with (tmp_path / "s.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    token = "T" * 20 + "_-" + "x" * 21
    (tmp_path / "seen.txt").write_text(f"token\t{token}\ncode\tAb3$Cd4%Ef5+\n", encoding="utf-8")
    needles = privacy_scan.needles_from(tmp_path / "s.csv", record_path=tmp_path / "seen.txt")
    clean = [
        json.dumps(
            {"level": "INFO", "message": "audit", "elector_id": rows[0]["elector_id"], "channel": "sms"}
        ),
        json.dumps({"pro": rows[0]["pro_email"], "hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}),
        json.dumps({"masked": "+33 6 •• •• •• 78", "ts": 1760012345678}),
    ]
    leaks = {
        "destination": json.dumps({"to": rows[1]["personal_email"].upper()}),
        "answer": json.dumps({"answer": rows[2]["answer"]}),  # \u escapes for the accents
        "numen": f"numen={rows[0]['numen'].lower()}",
        "nir10": f"nir {rows[1]['nir10']}",
        "vote_code": f"code Ab3$Cd4%Ef5+ and {rows[3]['vote_code']}",
        "token": f"/reassort/code-vote#t={token}",
    }
    mobile = rows[4]["mobile"]
    log = tmp_path / "stack.log"
    log.write_text("\n".join([*clean, *leaks.values(), f"sms to 0{mobile[3:]}"]) + "\n", encoding="utf-8")
    findings = privacy_scan.scan_files([log], needles)
    kinds = {f["kind"] for f in findings}
    assert kinds == set(leaks)
    assert {f["line"] for f in findings if f["kind"] == "destination"} == {4, 10}
    assert not any(f["line"] <= len(clean) for f in findings)
    assert all(set(f) == {"file", "line", "kind"} for f in findings)  # never the value
    assert privacy_scan.main(["--secrets", str(tmp_path / "s.csv"), "--log", str(log)]) == 1


def raw_mail(to: str, body: str) -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "no-reply@elections.example.gouv.fr"
    message["To"] = to
    message["Subject"] = "Votre lien"
    message.set_content(body)
    return bytes(message)


def test_given_mails_stored_by_ses_receiving_when_polled_then_each_journey_gets_its_own_new_link():
    import boto3
    from moto import mock_aws

    from tools.load.plugins import S3InboxLinks

    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="inbox", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_object(
            Bucket="inbox", Key="inbox/old", Body=raw_mail("a@load.test", "/reassort/code-vote#t=old")
        )
        links = S3InboxLinks(s3, "inbox", timeout_seconds=0.5, poll_seconds=0.0)
        links.poll()  # a mail read before this journey asked is not this journey's
        cursor = links.cursor(None, "a@load.test")
        s3.put_object(
            Bucket="inbox", Key="inbox/b", Body=raw_mail("b@load.test", "/reassort/code-vote#t=bbb")
        )
        s3.put_object(
            Bucket="inbox", Key="inbox/a", Body=raw_mail("A@Load.test", "lien : /reassort/code-vote#t=new_-1")
        )
        assert links.await_token(None, "a@load.test", cursor) == "new_-1"
        assert links.await_token(None, "c@load.test", cursor) is None
        assert links.reads_sms is False


def test_given_the_environment_when_plugins_are_chosen_then_local_and_stage_use_the_same_interfaces():
    from tools.load.plugins import LocalPortalLogin, OutboxLinks, S3InboxLinks, SignedSessionLogin, from_env

    login, links = from_env({})
    assert isinstance(login, LocalPortalLogin) and isinstance(links, OutboxLinks)

    class Secrets:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            return {"SecretString": "k" * 40}

    stage = {
        "LOAD_LOGIN": "test-issuer",
        "LOAD_TEST_ISSUER": "https://load-test.invalid",
        "LOAD_PORTAL_AUDIENCE": "reassort",
        "LOAD_TEST_ISSUER_SECRET_ID": "arn:secret",
        "LOAD_LINKS": "s3",
        "LOAD_INBOX_BUCKET": "inbox",
    }
    login, links = from_env(
        stage, "https://reassort.recette.example.gouv.fr", lambda: Secrets(), lambda: object()
    )
    assert isinstance(login, SignedSessionLogin) and login.host == "reassort.recette.example.gouv.fr"
    assert login.key == b"k" * 40
    assert isinstance(links, S3InboxLinks) and links.bucket == "inbox"
    with pytest.raises(ValueError):
        from_env({"LOAD_LOGIN": "password-guessing"})


def test_given_a_connection_error_when_described_then_the_cause_is_shown_not_a_zero_status():
    from tools.load.plugins import describe_failure

    class NoAnswer:
        status_code = 0
        error = ConnectionRefusedError(111, "Connection refused")

    class Answer:
        status_code = 503
        error = None

    assert (
        describe_failure(NoAnswer())
        == "pas de réponse (ConnectionRefusedError: [Errno 111] Connection refused)"
    )
    assert describe_failure(Answer()) == "503"


def test_given_workers_when_commands_are_built_then_master_and_workers_share_a_free_port():
    import argparse

    from tools.load.run import locust_commands

    args = argparse.Namespace(shape=False, duration="10s", users=4, spawn_rate=2, workers=2, master_port=0)
    master, *workers = locust_commands(args, "http://127.0.0.1:1", Path("out"))
    port = master[master.index("--master-bind-port") + 1]
    assert len(workers) == 2
    assert all(w[w.index("--master-port") + 1] == port for w in workers)
    args.master_port = 6123
    master, *_ = locust_commands(args, "http://127.0.0.1:1", Path("out"))
    assert master[master.index("--master-bind-port") + 1] == "6123"


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_given_a_roll_imported_with_the_cli_into_a_running_stack_when_its_electors_log_in_then_they_can(
    tmp_path,
):
    import urllib.error
    import urllib.request

    from tools.load.run import start_stack, stop_stack

    process, summary, secrets, _fc = start_stack(0, 4, tmp_path, tmp_path / "stack.log", roll_via="cli")
    try:
        with secrets.open(newline="", encoding="utf-8") as handle:
            elector_id = next(csv.DictReader(handle))["elector_id"]

        def login(who: str, password: str) -> int:
            request = urllib.request.Request(  # noqa: S310 - the loopback stack
                f"{summary['base_url']}/local/login",
                data=json.dumps({"elector_id": who, "password": password}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                    return int(response.status)
            except urllib.error.HTTPError as error:
                return int(error.code)

        assert login(elector_id, f"demo-{elector_id}") == 200
        assert login(elector_id, "demo-someone-else") == 401
        assert login("NOT-IMPORTED", "demo-NOT-IMPORTED") == 401
        exposed = summary["import_environment"]
        assert {"ELECTORS_TABLE", "LOCAL_SECRETS", "AWS_ENDPOINT_URL", "LOAD_TEST_ISSUER_KEY"} <= set(exposed)
    finally:
        stop_stack(process)
