"""Every e-mail (SES) and SMS (SNS) the backend sent, read from moto's in-process backends.

The moto server runs in this process, so its backends are plain Python objects. moto keeps no
send time, so the containers holding sent messages are swapped for ones that stamp each entry.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from datetime import datetime
from email import message_from_string, policy
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
_URL = re.compile(r"https?://[^\s<>\"']+")
_counter_lock = threading.Lock()
_counter = [0]


def _stamp() -> tuple[int, float]:
    with _counter_lock:
        _counter[0] += 1
        return _counter[0], time.time()


class _StampedList(list[Any]):
    """moto's `sent_messages` list, remembering when each message was appended."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.stamps: dict[int, tuple[int, float]] = {}

    def append(self, item: Any) -> None:
        self.stamps[id(item)] = _stamp()
        super().append(item)


class _StampedDict(OrderedDict[Any, Any]):
    """moto's `sms_messages` mapping, remembering when each SMS was stored."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.stamps: dict[str, tuple[int, float]] = {}

    def __setitem__(self, key: Any, value: Any) -> None:
        self.stamps[key] = _stamp()
        super().__setitem__(key, value)


@dataclass
class OutboxMessage:
    seq: int
    sent_at: str
    kind: str  # "email" | "sms"
    to: list[str]
    sender: str
    subject: str
    body: str
    links: list[str]


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)
        if tag in {"br", "p", "div", "li", "tr"}:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _plain(body: str) -> tuple[str, list[str]]:
    """Text and links of a message body, whether it is plain text or HTML."""
    if re.search(r"<(html|body|p|a|br|div)\b", body, re.IGNORECASE):
        parser = _TextExtractor()
        parser.feed(body)
        text = re.sub(r"\n\s*\n+", "\n\n", "".join(parser.parts)).strip()
        links = parser.hrefs or _URL.findall(text)
        return text, list(dict.fromkeys(links))
    return body, list(dict.fromkeys(_URL.findall(body)))


def _raw_parts(raw: str) -> tuple[str, str]:
    msg = message_from_string(raw, policy=policy.default)
    subject = str(msg.get("subject", ""))
    part = msg.get_body(preferencelist=("plain", "html"))
    return subject, part.get_content() if part is not None else ""


class Outbox:
    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region

    def _backends(self) -> tuple[Any, Any]:
        from moto.ses.models import ses_backends
        from moto.sns.models import sns_backends

        return ses_backends[self.account_id][self.region], sns_backends[self.account_id][self.region]

    def install(self) -> None:
        """Swap moto's containers for stamping ones (call once the backends exist, before any send)."""
        ses, sns = self._backends()
        if not isinstance(ses.sent_messages, _StampedList):
            ses.sent_messages = _StampedList(ses.sent_messages)
        if not isinstance(sns.sms_messages, _StampedDict):
            sns.sms_messages = _StampedDict(sns.sms_messages)

    def messages(self) -> list[OutboxMessage]:
        self.install()
        ses, sns = self._backends()
        found: list[OutboxMessage] = []
        for item in list(ses.sent_messages):
            seq, at = ses.sent_messages.stamps.get(id(item), (0, 0.0))
            if hasattr(item, "raw_data"):
                subject, body = _raw_parts(item.raw_data)
                to = list(item.destinations)
            else:
                subject, body = str(getattr(item, "subject", "")), str(getattr(item, "body", ""))
                dest = getattr(item, "destinations", {}) or {}
                to = [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in dest.get(key, [])]
            text, links = _plain(body)
            found.append(OutboxMessage(seq, _iso(at), "email", to, str(item.source), subject, text, links))
        for message_id, value in list(sns.sms_messages.items()):
            seq, at = sns.sms_messages.stamps.get(message_id, (0, 0.0))
            phone, text = value[0], value[1]
            _, links = _plain(text)
            found.append(OutboxMessage(seq, _iso(at), "sms", [phone], "SMS", "", text, links))
        found.sort(key=lambda m: m.seq)
        return found

    def as_json(self) -> dict[str, Any]:
        return {"messages": [asdict(m) for m in self.messages()]}

    def as_html(self) -> str:
        rows = []
        for m in reversed(self.messages()):
            kind = "E-mail" if m.kind == "email" else "SMS"
            body = html.escape(m.body)
            for link in m.links:
                escaped = html.escape(link)
                body = body.replace(escaped, f'<a href="{escaped}">{escaped}</a>')
            subject = html.escape(m.subject) if m.subject else "<em>(SMS)</em>"
            rows.append(
                "<tr>"
                f"<td>{m.seq}</td>"
                f'<td><time datetime="{m.sent_at}">{html.escape(_display_time(m.sent_at))}</time></td>'
                f"<td>{kind}</td>"
                f"<td>{html.escape(', '.join(m.to))}</td>"
                f"<td>{subject}</td>"
                f'<td><pre class="outbox-body">{body}</pre></td>'
                "</tr>"
            )
        return "\n".join(rows)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, PARIS).isoformat(timespec="seconds")


def _display_time(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%d/%m/%Y %H:%M:%S")
