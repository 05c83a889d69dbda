"""SES (e-mail) and SNS (SMS) senders behind the domain's Notifier port."""

from __future__ import annotations

import logging
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..domain.ports import NotificationError

log = logging.getLogger(__name__)

# Standard retries (3 attempts in all, jittered exponential backoff) absorb short throttling
# (SES 14/s, SMS 20 parts/s by default) and keep two sends, at worst, inside the function's
# 25 s timeout and API Gateway's 30 s. Measured against moto: two throttles cost ~1 s; lasting
# throttling ends in SEND_FAILED after ~3 s.
SEND_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=2, read_timeout=4)


def _error_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


class SesEmailSender:
    def __init__(self, mail_from: str, configuration_set: str | None = None, client: Any | None = None):
        self.mail_from = mail_from
        self.configuration_set = configuration_set
        self.client = client or boto3.client("sesv2", config=SEND_CONFIG)

    def send_email(self, to: str, subject: str, text: str, html: str) -> None:
        request: dict[str, Any] = {
            "FromEmailAddress": self.mail_from,
            "Destination": {"ToAddresses": [to]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": text, "Charset": "UTF-8"},
                        "Html": {"Data": html, "Charset": "UTF-8"},
                    },
                }
            },
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            self.client.send_email(**request)
        except (ClientError, BotoCoreError) as exc:
            log.warning("e-mail send failed", extra={"error_code": _error_code(exc)})
            raise NotificationError(_error_code(exc)) from exc


class SnsSmsSender:
    def __init__(self, sender_id: str, client: Any | None = None):
        self.sender_id = sender_id
        self.client = client or boto3.client("sns", config=SEND_CONFIG)

    def send_sms(self, to_e164: str, text: str) -> None:
        try:
            self.client.publish(
                PhoneNumber=to_e164,
                Message=text,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self.sender_id},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            log.warning("SMS send failed", extra={"error_code": _error_code(exc)})
            raise NotificationError(_error_code(exc)) from exc


class Notifier:
    """E-mail through SES, SMS through SNS; each client is created on first use, so a function
    that never sends SMS never builds an SNS client."""

    def __init__(self, mail_from: str, configuration_set: str | None, sms_sender_id: str) -> None:
        self._mail_from = mail_from
        self._configuration_set = configuration_set
        self._sms_sender_id = sms_sender_id
        self._email: SesEmailSender | None = None
        self._sms: SnsSmsSender | None = None

    def _email_sender(self) -> SesEmailSender:
        if self._email is None:
            self._email = SesEmailSender(self._mail_from, self._configuration_set)
        return self._email

    def _sms_sender(self) -> SnsSmsSender:
        if self._sms is None:
            self._sms = SnsSmsSender(self._sms_sender_id)
        return self._sms

    def send_email(self, to: str, subject: str, text: str, html: str) -> None:
        self._email_sender().send_email(to, subject, text, html)

    def send_sms(self, to_e164: str, text: str) -> None:
        self._sms_sender().send_sms(to_e164, text)
