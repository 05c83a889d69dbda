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
    stage = synthesized[stage_name]
    assert stage.sms is not None and not stage.resources("Custom::AWS")  # never in the service stack
    [custom] = stage.sms.find_resources("Custom::AWS").values()
    assert stage.stage.sms.dependencies == [stage.stage.service]  # deployed after the service
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


def test_given_monitoring_then_alarms_reach_e_mail_and_urgent_ones_page_the_on_call(
    prod: SynthesizedStage,
) -> None:
    monitoring = prod.stage.service.monitoring
    mail_topic = {"Ref": logical_id_of(prod, monitoring.topic)}
    paging_topic = {"Ref": logical_id_of(prod, monitoring.paging_topic)}
    paged = set()
    for alarm in prod.resources("AWS::CloudWatch::Alarm").values():
        [action] = alarm["Properties"]["AlarmActions"]
        assert action in (mail_topic, paging_topic)
        if action == paging_topic:
            paged.add(alarm["Properties"]["AlarmName"].removeprefix("reassort-prod-"))
    assert {"Api5xx", "ApiLatencyP95", "SendFailed", "SesDailyQuota"} <= paged
    assert {f"{f}-ErrorLogs" for f in ("request_reassort", "redeem", "fc_callback")} <= paged
    subscriptions = {
        (s["Properties"]["Protocol"], s["Properties"]["Endpoint"])
        for s in prod.resources("AWS::SNS::Subscription").values()
    }
    assert subscriptions == {
        ("email", STAGES["prod"].alarm_email),
        ("https", STAGES["prod"].alarm_paging_url),
    }
    assert len(prod.resources("AWS::CloudWatch::Dashboard")) == 1


def test_given_monitoring_then_each_risk_has_an_alarm(prod: SynthesizedStage) -> None:
    names = {
        a["Properties"]["AlarmName"].removeprefix("reassort-prod-")
        for a in prod.resources("AWS::CloudWatch::Alarm").values()
    }
    expected = {"Api5xx", "SesBounceRate", "SesComplaintRate", "SmsDeliveryFailures", "SmsSpend"}
    expected |= {"AccountLockedSpike", "FcIdentityMismatchSpike"}
    expected |= {"ApiLatencyP95", "SendFailed", "SesDeliveryDelay", "SesDailyQuota"}
    expected |= {
        f"{f}-{kind}"
        for f in ("request_reassort", "redeem", "fc_callback")
        for kind in ("ErrorRate", "Throttles", "ErrorLogs")
    }
    expected |= {f"{t}-Throttles" for t in ("Electors", "Links", "FcState", "Audit")}
    expected |= {"JournalDigesterErrors"}
    assert names == expected


def test_given_every_exception_answers_503_then_error_log_lines_are_counted_per_function(
    prod: SynthesizedStage,
) -> None:
    filters = prod.resources("AWS::Logs::MetricFilter")
    patterns = {f["Properties"]["FilterPattern"] for f in filters.values()}
    assert patterns == {'{ $.level = "ERROR" }'}
    metric_names = {f["Properties"]["MetricTransformations"][0]["MetricName"] for f in filters.values()}
    assert metric_names == {f"{f}ErrorLogLines" for f in ("request_reassort", "redeem", "fc_callback")}


def test_given_the_capacity_model_then_thresholds_follow_it() -> None:
    from infra.monitoring import send_failure_threshold
    from infra.stages import stage_config

    prod_config = STAGES["prod"]
    busiest_five_minutes = prod_config.peak_emails_per_second * 300
    assert send_failure_threshold(prod_config) == round(0.01 * busiest_five_minutes + 0.5)
    doubled = stage_config("prod", {"peak_emails_per_second": 2 * prod_config.peak_emails_per_second})
    assert send_failure_threshold(doubled) > send_failure_threshold(prod_config)


def test_given_the_edge_stack_then_waf_blocks_alarm_in_us_east_1_and_page(prod: SynthesizedStage) -> None:
    [alarm] = prod.edge.find_resources("AWS::CloudWatch::Alarm").values()
    properties = alarm["Properties"]
    assert properties["Namespace"] == "AWS/WAFV2" and properties["MetricName"] == "BlockedRequests"
    protocols = {
        s["Properties"]["Protocol"] for s in prod.edge.find_resources("AWS::SNS::Subscription").values()
    }
    assert protocols == {"email", "https"}


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


def test_given_prod_functions_then_each_has_one_full_vcpu_for_argon2(prod: SynthesizedStage) -> None:
    functions = [
        f["Properties"]
        for f in prod.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler", "").endswith(".handler.lambda_handler")
        and "SnapStart" in f["Properties"]
    ]
    assert len(functions) == 3
    assert {f["MemorySize"] for f in functions} == {1769}  # docs/capacity.md: one vCPU


def test_given_cloudfront_metrics_in_us_east_1_then_its_5xx_alarm_is_there_and_pages(
    prod: SynthesizedStage,
) -> None:
    assert prod.cloudfront_alarms is not None
    assert prod.stage.cloudfront_alarms.region == "us-east-1"
    assert prod.stage.cloudfront_alarms.dependencies == [prod.stage.service]
    [alarm] = prod.cloudfront_alarms.find_resources("AWS::CloudWatch::Alarm").values()
    properties = alarm["Properties"]
    assert properties["Namespace"] == "AWS/CloudFront" and properties["MetricName"] == "5xxErrorRate"
    dimensions = {d["Name"]: d["Value"] for d in properties["Dimensions"]}
    assert dimensions["Region"] == "Global"
    assert dimensions["DistributionId"]["Fn::GetStackOutput"]["StackName"] == "reassort-prod-service"
    protocols = {
        s["Properties"]["Protocol"]
        for s in prod.cloudfront_alarms.find_resources("AWS::SNS::Subscription").values()
    }
    assert protocols == {"email", "https"}
