"""CloudWatch dashboard and alarms, all sent to one SNS topic with the stage's alarm e-mail."""

from __future__ import annotations

import math
from typing import Any

from aws_cdk import Duration, Environment, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from .sending import CONFIGURATION_SET_DIMENSION
from .service_functions import METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME
from .stages import StageConfig

FIVE_MINUTES = Duration.minutes(5)
# Custom metrics the functions publish (Powertools adds the `service` dimension).
ACCOUNT_LOCKED_METRIC = "AccountLocked"
FC_IDENTITY_MISMATCH_METRIC = "FcIdentityMismatch"
# SES reviews an account above 5 % bounces or 0.1 % complaints: warn well before.
SES_BOUNCE_RATE_THRESHOLD = 0.04
SES_COMPLAINT_RATE_THRESHOLD = 0.0008
SMS_SUCCESS_RATE_THRESHOLD = 0.9
SMS_SPEND_ALARM_SHARE = 0.8
API_5XX_THRESHOLD = 5
ONE_MINUTE = Duration.minutes(1)
# The slowest accepted route in docs/capacity.md (challenge accepted: 165 ms, argon2 included):
# a p95 ten times above it for 3 minutes means electors wait.
SLOWEST_ROUTE_MS = 165
LATENCY_ALARM_FACTOR = 10
# Failed sends and delayed deliveries: 1 % of the busiest 5 minutes of e-mails.
SEND_FAILURE_SHARE = 0.01
SES_QUOTA_ALARM_SHARE = 0.8
SEND_FAILED_METRIC = "SendFailed"
ERROR_LOG_METRIC = "ErrorLogLines"


def busiest_five_minutes_emails(config: StageConfig) -> float:
    return config.peak_emails_per_second * 300


def send_failure_threshold(config: StageConfig) -> int:
    return max(3, math.ceil(SEND_FAILURE_SHARE * busiest_five_minutes_emails(config)))


def alarm_topic(scope: Construct, config: StageConfig, construct_id: str, name: str) -> sns.Topic:
    """An encrypted topic with the stage's e-mail and, when set, the paging HTTPS endpoint."""
    # CloudWatch cannot publish to a topic under the AWS-managed SNS key: a key of our own.
    key = kms.Key(
        scope,
        f"{construct_id}Key",
        description=f"{config.resource_prefix} {name} topic",
        enable_key_rotation=True,
    )
    key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
    topic = sns.Topic(
        scope,
        construct_id,
        topic_name=f"{config.resource_prefix}-{name}",
        display_name=f"Reassort {config.name} {name}",
        master_key=key,
        enforce_ssl=True,
    )
    topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
    return topic


def add_paging(topic: sns.Topic, config: StageConfig) -> None:
    if config.alarm_paging_url:
        topic.add_subscription(subscriptions.UrlSubscription(config.alarm_paging_url))


def notifying_alarm(
    scope: Construct,
    construct_id: str,
    config: StageConfig,
    topic: sns.ITopic,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
    *,
    comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluation_periods: int = 1,
) -> cloudwatch.Alarm:
    """An alarm named after the stage that tells `topic` when it fires and when it clears; no
    data is not a breach (a quiet service is a healthy one)."""
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=f"{config.resource_prefix}-{construct_id}",
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=evaluation_periods,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(actions.SnsAction(topic))
    alarm.add_ok_action(actions.SnsAction(topic))
    return alarm


def service_metric(metric_name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"service": POWERTOOLS_SERVICE_NAME},
        statistic="Sum",
        period=FIVE_MINUTES,
    )


def ses_metric(metric_name: str, configuration_set_name: str | None = None) -> cloudwatch.Metric:
    dimensions = {CONFIGURATION_SET_DIMENSION: configuration_set_name} if configuration_set_name else None
    return cloudwatch.Metric(
        namespace="AWS/SES",
        metric_name=metric_name,
        dimensions_map=dimensions,
        statistic="Sum" if configuration_set_name else "Maximum",
        period=FIVE_MINUTES,
    )


def sms_metric(metric_name: str, statistic: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/SNS", metric_name=metric_name, statistic=statistic, period=FIVE_MINUTES
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        api: apigwv2.HttpApi,
        functions: list[lambda_.Function],
        tables: list[dynamodb.Table],
        configuration_set_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        # Two topics: `alarms` (e-mail) for what can wait for office hours, `paging` (e-mail and
        # the on-call HTTPS endpoint) for what stops electors now.
        self.topic = alarm_topic(self, config, "AlarmTopic", "alarms")
        self.paging_topic = alarm_topic(self, config, "PagingTopic", "paging")
        add_paging(self.paging_topic, config)
        self.alarms: list[cloudwatch.Alarm] = []

        self._alarm(
            "Api5xx",
            api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
            API_5XX_THRESHOLD,
            "HTTP API answered 5xx: see the function error alarms and the runbook",
            page=True,
        )
        self._alarm(
            "ApiLatencyP95",
            api.metric_latency(period=ONE_MINUTE, statistic="p95"),
            SLOWEST_ROUTE_MS * LATENCY_ALARM_FACTOR,
            "API p95 latency ten times the capacity model's slowest route for 3 minutes",
            evaluation_periods=3,
            page=True,
        )
        self._alarm(
            "SendFailed",
            service_metric(SEND_FAILED_METRIC),
            send_failure_threshold(config),
            "E-mails or SMS failing: 1 % of the busiest 5 minutes of sends (SES/SNS throttling or outage)",
            page=True,
        )
        self._alarm(
            "SesDeliveryDelay",
            ses_metric("DeliveryDelay", configuration_set_name),
            send_failure_threshold(config),
            "SES delivery delays: receiving servers (often the academies') defer our e-mails",
        )
        self._alarm(
            "SesDailyQuota",
            cloudwatch.Metric(
                namespace="AWS/SES", metric_name="Send", statistic="Sum", period=Duration.days(1)
            ),
            SES_QUOTA_ALARM_SHARE * config.ses_daily_quota,
            "E-mails sent in 24 hours above 80 % of the SES quota: raise it before sends are refused",
            page=True,
        )
        for function in functions:
            name = function.node.id
            errors = function.metric_errors(period=FIVE_MINUTES, statistic="Sum")
            invocations = function.metric_invocations(period=FIVE_MINUTES, statistic="Sum")
            error_rate = cloudwatch.MathExpression(
                expression="IF(invocations > 0, 100 * errors / invocations, 0)",
                using_metrics={"errors": errors, "invocations": invocations},
                label=f"{name} error rate (%)",
                period=FIVE_MINUTES,
            )
            self._alarm(f"{name}-ErrorRate", error_rate, config.error_rate_alarm_percent, f"{name} errors")
            # Every exception is answered with a 503, so Lambda's Errors metric stays at zero: the
            # ERROR log lines (Powertools JSON) are what counts.
            logs.MetricFilter(
                self,
                f"{name}-ErrorLogLines",
                log_group=function.log_group,
                filter_pattern=logs.FilterPattern.string_value("$.level", "=", "ERROR"),
                metric_namespace=METRICS_NAMESPACE,
                metric_name=f"{name}{ERROR_LOG_METRIC}",
                metric_value="1",
            )
            self._alarm(
                f"{name}-ErrorLogs",
                cloudwatch.Metric(
                    namespace=METRICS_NAMESPACE,
                    metric_name=f"{name}{ERROR_LOG_METRIC}",
                    statistic="Sum",
                    period=ONE_MINUTE,
                ),
                1,
                f"{name} logged an unexpected error (answered 503)",
                page=True,
            )
            self._alarm(
                f"{name}-Throttles",
                function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"{name} throttled: concurrency limit reached",
            )
        for table in tables:
            name = table.node.id
            throttles = cloudwatch.MathExpression(
                expression="reads + writes",
                using_metrics={
                    "reads": table.metric("ReadThrottleEvents", period=FIVE_MINUTES, statistic="Sum"),
                    "writes": table.metric("WriteThrottleEvents", period=FIVE_MINUTES, statistic="Sum"),
                },
                label=f"{name} throttle events",
                period=FIVE_MINUTES,
            )
            self._alarm(f"{name}-Throttles", throttles, 1, f"DynamoDB table {name} throttled")
        self._alarm(
            "SesBounceRate",
            ses_metric("Reputation.BounceRate"),
            SES_BOUNCE_RATE_THRESHOLD,
            "SES bounce rate near the review threshold (5 %)",
        )
        self._alarm(
            "SesComplaintRate",
            ses_metric("Reputation.ComplaintRate"),
            SES_COMPLAINT_RATE_THRESHOLD,
            "SES complaint rate near the review threshold (0.1 %)",
        )
        self._alarm(
            "SmsDeliveryFailures",
            sms_metric("SMSSuccessRate", "Average"),
            SMS_SUCCESS_RATE_THRESHOLD,
            "SMS success rate below 90 %",
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=3,
        )
        self._alarm(
            "SmsSpend",
            sms_metric("SMSMonthToDateSpentUSD", "Maximum"),
            SMS_SPEND_ALARM_SHARE * config.sms_monthly_spend_limit_usd,
            "SMS spend above 80 % of the monthly limit: SMS stop at the limit",
        )
        self._alarm(
            "AccountLockedSpike",
            service_metric(ACCOUNT_LOCKED_METRIC),
            config.lockout_alarm_threshold,
            "Many elector accounts locked in 5 minutes: guessing attack or a broken roll",
        )
        self._alarm(
            "FcIdentityMismatchSpike",
            service_metric(FC_IDENTITY_MISMATCH_METRIC),
            config.identity_mismatch_alarm_threshold,
            "Many FranceConnect identities did not match the roll in 5 minutes",
        )
        self.dashboard = self._dashboard(api, functions, tables, configuration_set_name)

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        *,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods: int = 1,
        page: bool = False,
    ) -> cloudwatch.Alarm:
        topic = self.paging_topic if page else self.topic
        alarm = notifying_alarm(
            self,
            construct_id,
            self._config,
            topic,
            metric,
            threshold,
            description,
            comparison=comparison,
            evaluation_periods=evaluation_periods,
        )
        self.alarms.append(alarm)
        return alarm

    def _dashboard(
        self,
        api: apigwv2.HttpApi,
        functions: list[lambda_.Function],
        tables: list[dynamodb.Table],
        configuration_set_name: str,
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"{self._config.resource_prefix}-operations"
        )
        width = 8
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24, height=4)
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[
                    api.metric_count(period=FIVE_MINUTES),
                    api.metric_client_error(period=FIVE_MINUTES),
                    api.metric_server_error(period=FIVE_MINUTES),
                ],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="API latency p95 (ms)",
                left=[api.metric_latency(period=FIVE_MINUTES, statistic="p95")],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="Lockouts and FranceConnect mismatches",
                left=[service_metric(ACCOUNT_LOCKED_METRIC), service_metric(FC_IDENTITY_MISMATCH_METRIC)],
                width=width,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Invocations",
                left=[f.metric_invocations(period=FIVE_MINUTES) for f in functions],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="Errors and throttles",
                left=[f.metric_errors(period=FIVE_MINUTES) for f in functions]
                + [f.metric_throttles(period=FIVE_MINUTES) for f in functions],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="Duration p95 (ms)",
                left=[f.metric_duration(period=FIVE_MINUTES, statistic="p95") for f in functions],
                width=width,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="DynamoDB consumed capacity",
                left=[t.metric_consumed_read_capacity_units(period=FIVE_MINUTES) for t in tables],
                right=[t.metric_consumed_write_capacity_units(period=FIVE_MINUTES) for t in tables],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="E-mail events",
                left=[
                    ses_metric(name, configuration_set_name)
                    for name in ("Send", "Delivery", "Bounce", "Complaint", "Reject", "DeliveryDelay")
                ],
                right=[ses_metric("Reputation.BounceRate"), ses_metric("Reputation.ComplaintRate")],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="SMS success rate and month-to-date spend (USD)",
                left=[sms_metric("SMSSuccessRate", "Average")],
                right=[sms_metric("SMSMonthToDateSpentUSD", "Maximum")],
                width=width,
            ),
        )
        return dashboard


# CloudFront answers with 5xx (origin errors, including the API's 503s seen by electors).
CLOUDFRONT_5XX_RATE_PERCENT = 1


class CloudFrontAlarmsStack(Stack):
    """CloudFront's metrics live in us-east-1 whatever the distribution's stack region: its alarm
    lives there too, deployed after the service stack (it names the distribution)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, distribution_id: str, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region="us-east-1"),
            cross_region_references=True,
            description=f"Vote-code reissue ({config.name}): CloudFront alarms (us-east-1)",
            **kwargs,
        )
        topic = alarm_topic(self, config, "CloudFrontAlarmTopic", "cloudfront-alarms")
        add_paging(topic, config)
        rate = cloudwatch.Metric(
            namespace="AWS/CloudFront",
            metric_name="5xxErrorRate",
            dimensions_map={"DistributionId": distribution_id, "Region": "Global"},
            statistic="Average",
            period=ONE_MINUTE,
        )
        notifying_alarm(
            self,
            "CloudFront5xx",
            config,
            topic,
            rate,
            CLOUDFRONT_5XX_RATE_PERCENT,
            "CloudFront answered 5xx to more than 1 % of requests for 3 minutes",
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
        )
