"""Every e-mail (SES) and SMS (SNS) the backend sent, read from moto's in-process backends.

The moto server runs in this process, so its backends are plain Python objects. moto keeps no
send time, so the containers holding sent messages are swapped for ones that stamp each entry and
queue it. Queued messages are parsed once, on the next read, into a list ordered by `seq` and an
index by recipient: a read filtered with `after` and `to` costs the new messages only, however
long the outbox has grown (the load kit polls it for every journey).
"""

from __future__ import annotations

import html
import re
import threading
import time
from bisect import bisect_right
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
# Sent but not yet parsed, in `seq` order: (seq, epoch, "email" | "sms", moto's object).
_pending: list[tuple[int, float, str, Any]] = []


def _stamp(kind: str, item: Any) -> None:
    with _counter_lock:
        _counter[0] += 1
        _pending.append((_counter[0], time.time(), kind, item))


def _take_pending() -> list[tuple[int, float, str, Any]]:
    with _counter_lock:
        taken = list(_pending)
        _pending.clear()
        return taken


class _StampedList(list[Any]):
    """moto's `sent_messages` list, stamping and queueing each message appended."""

    def __init__(self, *args: Any) -> None:
        super().__init__()
        item: Any
        for item in list(*args):
            self.append(item)

    def append(self, item: Any) -> None:
        _stamp("email", item)
        super().append(item)


class _StampedDict(OrderedDict[Any, Any]):
    """moto's `sms_messages` mapping, stamping and queueing each SMS stored."""

    def __init__(self, *args: Any) -> None:
        super().__init__()
        for key, value in OrderedDict(*args).items():
            self[key] = value

    def __setitem__(self, key: Any, value: Any) -> None:
        _stamp("sms", value)
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


def _parse(seq: int, at: float, kind: str, item: Any) -> OutboxMessage:
    if kind == "sms":
        phone, text = item[0], item[1]
        _, links = _plain(text)
        return OutboxMessage(seq, _iso(at), "sms", [phone], "SMS", "", text, links)
    if hasattr(item, "raw_data"):
        subject, body = _raw_parts(item.raw_data)
        to = list(item.destinations)
    else:
        subject, body = str(getattr(item, "subject", "")), str(getattr(item, "body", ""))
        dest = getattr(item, "destinations", {}) or {}
        to = [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in dest.get(key, [])]
    text, links = _plain(body)
    return OutboxMessage(seq, _iso(at), "email", to, str(item.source), subject, text, links)


class Outbox:
    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self._lock = threading.Lock()
        self._all: list[OutboxMessage] = []
        self._seqs: list[int] = []
        self._by_recipient: dict[str, list[OutboxMessage]] = {}

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

    def _refresh(self) -> None:
        """Parse what was sent since the last read (under the lock: called by every reader)."""
        for seq, at, kind, item in _take_pending():
            message = _parse(seq, at, kind, item)
            self._all.append(message)
            self._seqs.append(seq)
            for recipient in message.to:
                self._by_recipient.setdefault(_recipient_key(recipient), []).append(message)

    def messages(self, after: int = 0, to: str | None = None) -> list[OutboxMessage]:
        """Messages sent after message ``after`` (all when 0), to ``to`` only when given, oldest first."""
        self.install()
        with self._lock:
            self._refresh()
            if to is None:
                return self._all[bisect_right(self._seqs, after) :]
            found = self._by_recipient.get(_recipient_key(to), [])
            # messages of one recipient are few: walk back from the newest
            start = len(found)
            while start > 0 and found[start - 1].seq > after:
                start -= 1
            return found[start:]

    def last_seq(self) -> int:
        with self._lock:
            self._refresh()
            return self._seqs[-1] if self._seqs else 0

    def as_json(self, after: int = 0, to: str | None = None) -> dict[str, Any]:
        found = self.messages(after, to)
        return {"messages": [asdict(m) for m in found], "last_seq": self.last_seq()}

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


def _recipient_key(recipient: str) -> str:
    """E-mail addresses compare without case; numbers as sent (E.164)."""
    return recipient.strip().lower()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, PARIS).isoformat(timespec="seconds")


def _display_time(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%d/%m/%Y %H:%M:%S")
