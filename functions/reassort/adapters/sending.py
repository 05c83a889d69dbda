"""SES (e-mail) and SNS (SMS) senders behind the domain's Notifier port."""

from __future__ import annotations

import logging
from email.header import Header
from email.utils import parseaddr
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .. import deadline
from ..domain.ports import NotificationError

log = logging.getLogger(__name__)

# Standard retries (3 attempts in all, jittered exponential backoff) absorb short throttling
# (SES 14/s, SMS 20 parts/s by default). Each attempt is bounded (connect 1 s, read 3 s) and is
# only started when the request's deadline leaves time to finish it, so the two sends of a
# request together never outlast the function. Measured against moto: two throttles cost ~1 s;
# lasting throttling ends in SEND_FAILED after ~3 s.
SEND_ATTEMPTS = 3
_SENT_ERRORS = (ClientError, BotoCoreError, deadline.DeadlineExceeded)


def encode_mailbox(mailbox: str) -> str:
    """`Name <address>` with a non-ASCII name as RFC 2047 encoded-words, as SES requires.

    SES refuses a raw "Élections professionnelles <…>" in FromEmailAddress; the name must be
    `=?utf-8?…?=` (several encoded-words when long, on one line), and the address 7-bit ASCII
    (an internationalised domain in its punycode form).
    """
    name, address = parseaddr(mailbox)
    if "@" not in address:
        raise ValueError("the sender must be an e-mail address")
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise ValueError("the local part of the sender address must be ASCII")
    address = f"{local}@{domain.encode('idna').decode('ascii')}"
    if not name:
        return address
    if name.isascii():
        if any(char in name for char in '()<>[]:;@\\,."'):
            escaped = name.replace("\\", "\\\\").replace('"', '\\"')
            return f'"{escaped}" <{address}>'
        return f"{name} <{address}>"
    return f"{Header(name, 'utf-8').encode(linesep=' ')} <{address}>"


def _error_code(exc: Exception) -> str:
    if isinstance(exc, deadline.DeadlineExceeded):
        return "DeadlineExceeded"
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


class SesEmailSender:
    def __init__(self, mail_from: str, configuration_set: str | None = None, client: Any | None = None):
        self.mail_from = encode_mailbox(mail_from)
        self.configuration_set = configuration_set
        self.client = client or deadline.aws_client("sesv2", deadline.SEND_TIMEOUTS, SEND_ATTEMPTS)

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
        except _SENT_ERRORS as exc:
            log.warning("e-mail send failed", extra={"error_code": _error_code(exc)})
            raise NotificationError(_error_code(exc)) from exc


class SnsSmsSender:
    def __init__(self, sender_id: str, client: Any | None = None):
        self.sender_id = sender_id
        self.client = client or deadline.aws_client("sns", deadline.SEND_TIMEOUTS, SEND_ATTEMPTS)

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
        except _SENT_ERRORS as exc:
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
