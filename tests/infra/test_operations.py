"""Sending settings, secret, alarms and dashboard."""

from __future__ import annotations

import json

import pytest

from infra.stages import STAGES

from .conftest import SynthesizedStage, logical_id_of

pytestmark = pytest.mark.infra


def test_given_ses_then_the_configuration_set_requires_tls_and_counts_bounces_and_complaints(
    prod: SynthesizedStage,
) -> None:
    [config_set] = prod.resources("AWS::SES::ConfigurationSet").values()
    props = config_set["Properties"]
    assert props["Name"] == "reassort-prod-mail"
    assert props["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"
    assert set(props["SuppressionOptions"]["SuppressedReasons"]) == {"BOUNCE", "COMPLAINT"}
    [destination] = prod.resources("AWS::SES::ConfigurationSetEventDestination").values()
    events = set(destination["Properties"]["EventDestination"]["MatchingEventTypes"])
    assert {"bounce", "complaint"} <= {event.lower() for event in events}


@pytest.mark.parametrize("stage_name", ["dev", "prod"])
def test_given_sms_then_account_settings_are_transactional_with_sender_id_and_spend_limit(
    synthesized: dict[str, SynthesizedStage], stage_name: str
) -> None:
    [custom] = synthesized[stage_name].resources("Custom::AWS").values()
    create = json.dumps(custom["Properties"]["Create"])
    assert "SetSMSAttributes" in create
    assert '\\"DefaultSMSType\\":\\"Transactional\\"' in create
    assert '\\"DefaultSenderID\\":\\"ELECTIONS\\"' in create
    limit = STAGES[stage_name].sms_monthly_spend_limit_usd
    assert f'\\"MonthlySpendLimit\\":\\"{limit}\\"' in create


def test_given_the_secret_then_it_holds_the_contract_keys(prod: SynthesizedStage) -> None:
    [secret] = [
        secret
        for secret in prod.resources("AWS::SecretsManager::Secret").values()
        if "GenerateStringKey" in secret["Properties"]["GenerateSecretString"]
    ]
    generator = secret["Properties"]["GenerateSecretString"]
    keys = set(json.loads(generator["SecretStringTemplate"])) | {generator["GenerateStringKey"]}
    assert keys == {"link_hmac_key", "identity_hmac_key", "fc_client_secret"}
    assert secret["DeletionPolicy"] == "RetainExceptOnCreate"


def test_given_monitoring_then_every_alarm_notifies_the_topic_with_the_stage_email(
    prod: SynthesizedStage,
) -> None:
    topic = {"Ref": logical_id_of(prod, prod.stage.service.monitoring.topic)}
    alarms = prod.resources("AWS::CloudWatch::Alarm")
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [topic]
    [subscription] = prod.resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == STAGES["prod"].alarm_email
    assert len(prod.resources("AWS::CloudWatch::Dashboard")) == 1


def test_given_monitoring_then_each_risk_has_an_alarm(prod: SynthesizedStage) -> None:
    names = {
        a["Properties"]["AlarmName"].removeprefix("reassort-prod-")
        for a in prod.resources("AWS::CloudWatch::Alarm").values()
    }
    expected = {"Api5xx", "SesBounceRate", "SesComplaintRate", "SmsDeliveryFailures", "SmsSpend"}
    expected |= {"AccountLockedSpike", "FcIdentityMismatchSpike"}
    expected |= {
        f"{f}-{kind}"
        for f in ("request_reassort", "redeem", "fc_callback")
        for kind in ("ErrorRate", "Throttles")
    }
    expected |= {f"{t}-Throttles" for t in ("Electors", "Links", "FcState", "Audit")}
    assert names == expected


def test_given_the_spike_alarms_then_they_watch_the_service_metrics(prod: SynthesizedStage) -> None:
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in prod.resources("AWS::CloudWatch::Alarm").values()
    }
    for name, metric in (
        ("AccountLockedSpike", "AccountLocked"),
        ("FcIdentityMismatchSpike", "FcIdentityMismatch"),
    ):
        alarm = alarms[f"reassort-prod-{name}"]
        assert alarm["Namespace"] == "Reassort"
        assert alarm["MetricName"] == metric
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "reassort"}]
