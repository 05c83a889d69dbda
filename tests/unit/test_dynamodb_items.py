"""The DynamoDB adapter's item conversions and the attribute values it sends, without any network:
records round-trip through their items, and every number stays N, every string S."""

from __future__ import annotations

from typing import Any

from reassort.adapters.dynamodb import (
    DynamoAuditLog,
    DynamoElectorStore,
    DynamoFcStateStore,
    DynamoLinkStore,
    elector_from_item,
    elector_to_item,
    link_from_item,
    link_to_item,
)
from reassort.domain.model import AuditEvent, Channel, ElectorRecord, FcState, LinkRecord, Method

NOW = 1_800_000_000


class RecordingClient:
    """The low-level client calls the adapter makes, with canned answers."""

    def __init__(self, answers: dict[str, dict[str, Any]] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers = answers or {}

    def __getattr__(self, operation: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((operation, kwargs))
            return self.answers.get(operation, {})

        return call


def _full_elector() -> ElectorRecord:
    return ElectorRecord(
        elector_id="E-1",
        display_name="Marie Curie",
        pro_email="marie.curie@education.gouv.fr",
        question="Ville de naissance ?",
        answer_hash="$argon2id$answer",
        numen_hash="$argon2id$numen",
        nir_hash="$argon2id$nir",
        vote_code_hash="$argon2id$code",
        identity_digest="d1g3st",
        failed_attempts=3,
        locked_until=NOW + 1800.5,
        link_generation=4,
        recent_links={"a1b2": float(NOW - 60), "c3d4": NOW - 30.25},
        quota_version=7,
        lock_alerts=(float(NOW - 3600), NOW - 120.5),
    )


def _link(**changes: Any) -> LinkRecord:
    values: dict[str, Any] = {
        "link_id": "ab" * 32,
        "elector_id": "E-1",
        "generation": 2,
        "channel": Channel.SMS,
        "method": Method.FRANCECONNECT,
        "created_at": float(NOW),
        "expires_at": float(NOW + 3600),
    }
    values.update(changes)
    return LinkRecord(**values)


def test_given_an_elector_with_every_field_when_converted_to_an_item_and_back_then_it_is_unchanged() -> None:
    elector = _full_elector()

    assert elector_from_item(elector_to_item(elector)) == elector


def test_given_an_elector_without_optional_fields_when_converted_and_back_then_it_is_unchanged() -> None:
    elector = ElectorRecord(
        elector_id="E-2",
        display_name="Jean Moulin",
        pro_email="jean.moulin@education.gouv.fr",
        question=None,
        answer_hash=None,
        numen_hash=None,
        nir_hash=None,
        vote_code_hash=None,
    )

    item = elector_to_item(elector)

    assert elector_from_item(item) == elector
    assert {"question", "answer_hash", "locked_until", "lock_alerts"}.isdisjoint(item)


def test_given_an_elector_item_then_numbers_are_n_strings_s_and_recent_links_a_map_of_n() -> None:
    item = elector_to_item(_full_elector())

    assert item["elector_id"] == {"S": "E-1"}
    assert item["failed_attempts"] == {"N": "3"}
    assert item["locked_until"] == {"N": "1800001800.5"}
    assert item["recent_links"] == {"M": {"a1b2": {"N": "1799999940"}, "c3d4": {"N": "1799999969.75"}}}
    assert item["lock_alerts"] == {"L": [{"N": "1799996400"}, {"N": "1799999879.5"}]}


def test_given_an_elector_item_when_read_then_numbers_are_the_domain_types() -> None:
    elector = elector_from_item(elector_to_item(_full_elector()))

    assert type(elector.failed_attempts) is int and type(elector.link_generation) is int
    assert type(elector.quota_version) is int and type(elector.locked_until) is float
    assert all(type(t) is float for t in [*elector.recent_links.values(), *elector.lock_alerts])


def test_given_an_issued_link_when_converted_to_an_item_and_back_then_it_is_unchanged() -> None:
    link = _link()

    item = link_to_item(link)

    assert link_from_item(item) == link
    assert item == {
        "link_id": {"S": "ab" * 32},
        "elector_id": {"S": "E-1"},
        "generation": {"N": "2"},
        "channel": {"S": "sms"},
        "method": {"S": "franceconnect"},
        "created_at": {"N": str(NOW)},
        "expires_at": {"N": str(NOW + 3600)},
        "ttl": {"N": str(NOW + 3600 + 86400)},
    }


def test_given_a_redeemed_link_item_when_read_then_the_redemption_fields_are_read() -> None:
    item = {
        **link_to_item(_link()),
        "used_at": {"N": str(NOW + 10)},
        "sealed_code": {"S": "sealed"},
        "shown_until": {"N": "1800000130.5"},
    }

    link = link_from_item(item)

    assert link == _link(used_at=float(NOW + 10), sealed_code="sealed", shown_until=NOW + 130.5)


def test_given_a_link_when_issued_then_the_transaction_sends_the_link_item_and_the_quota_as_n() -> None:
    client = RecordingClient()
    store = DynamoLinkStore("links", "electors", DynamoAuditLog("audit", 1, client), client=client)

    store.issue(_link(), quota_version=0, recent_links={"a1b2": NOW - 60.75}, reset_failures=True)

    [(operation, call)] = client.calls
    put, update = (item for item in call["TransactItems"])
    assert operation == "transact_write_items"
    assert put["Put"]["Item"] == link_to_item(_link())
    assert update["Update"]["Key"] == {"elector_id": {"S": "E-1"}}
    assert update["Update"]["ExpressionAttributeValues"] == {
        ":recent": {"M": {"a1b2": {"N": "1799999939"}}},
        ":version": {"N": "0"},
        ":next": {"N": "1"},
        ":now": {"N": str(NOW)},
        ":zero": {"N": "0"},
    }


def test_given_a_fractional_display_end_when_redeemed_then_it_is_kept_the_ttl_rounded_up_and_audited() -> (
    None
):
    client = RecordingClient()
    store = DynamoLinkStore("links", "electors", DynamoAuditLog("audit", 1, client), client=client)

    record = AuditEvent("E-1", "redeem", "success", "req-1", NOW + 10.9, method="challenge")
    assert store.redeem(
        _link(), "$argon2id$new", NOW + 10.9, sealed_code="sealed", shown_until=NOW + 130.5, record=record
    )

    [(_, call)] = client.calls
    *updates, audit_put = call["TransactItems"]
    link_update, elector_update = (item["Update"] for item in updates)
    assert audit_put["Put"]["TableName"] == "audit"
    assert audit_put["Put"]["ConditionExpression"] == "attribute_not_exists(event_key)"
    assert audit_put["Put"]["Item"]["outcome"] == {"S": "success"}
    assert audit_put["Put"]["Item"]["event_key"]["S"].endswith("#req-1#redeem#success")
    assert link_update["ExpressionAttributeValues"] == {
        ":now": {"N": str(NOW + 10)},
        ":sealed": {"S": "sealed"},
        ":until": {"N": "1800000130.5"},
        ":ttl": {"N": "1800000131"},
    }
    assert elector_update["ExpressionAttributeValues"] == {
        ":hash": {"S": "$argon2id$new"},
        ":next": {"N": "3"},
        ":one": {"N": "1"},
        ":generation": {"N": "2"},
        ":now": {"N": str(NOW + 10)},
    }


def test_given_an_attempt_when_reserved_then_the_values_are_n_and_the_new_count_is_an_int() -> None:
    client = RecordingClient({"update_item": {"Attributes": {"failed_attempts": {"N": "2"}}}})
    store = DynamoElectorStore("electors", client=client)

    assert store.reserve_attempt("E-1", NOW + 0.7, 5) == 2

    [(_, call)] = client.calls
    assert call["Key"] == {"elector_id": {"S": "E-1"}}
    assert call["ExpressionAttributeValues"] == {
        ":zero": {"N": "0"},
        ":one": {"N": "1"},
        ":max": {"N": "5"},
        ":now": {"N": str(NOW)},
    }


def test_given_lock_alerts_when_recorded_then_they_are_a_list_of_whole_seconds() -> None:
    client = RecordingClient()

    DynamoElectorStore("electors", client=client).record_lock_alerts("E-1", (NOW - 60.5, float(NOW)))

    [(_, call)] = client.calls
    assert call["ExpressionAttributeValues"] == {":alerts": {"L": [{"N": "1799999939"}, {"N": str(NOW)}]}}


def test_given_a_franceconnect_state_when_saved_and_taken_then_it_round_trips() -> None:
    state = FcState(state_id="st", elector_id="E-1", nonce="n0nce", expires_at=float(NOW + 600))
    client = RecordingClient()
    store = DynamoFcStateStore("fc", client=client)
    store.save(state)
    [(_, saved)] = client.calls
    client.answers["delete_item"] = {"Attributes": saved["Item"]}

    assert saved["Item"]["ttl"] == {"N": str(NOW + 600 + 86400)}
    assert store.take("st") == state


def test_given_the_same_audit_record_twice_in_a_batch_then_the_second_gets_a_numbered_key() -> None:
    client = RecordingClient()
    audit = DynamoAuditLog("audit", retention_days=1, client=client)
    event = AuditEvent(
        elector_id="E-1", event="send", outcome="success", request_id="r1", at=NOW + 0.25, channel="sms"
    )

    audit._write([audit._item(event), audit._item(event)])

    [(operation, call)] = client.calls
    first, second = (item["Put"]["Item"] for item in call["TransactItems"])
    assert operation == "transact_write_items"
    assert first == {
        "elector_id": {"S": "E-1"},
        "event_key": {"S": "2027-01-15T08:00:00.250+00:00#r1#send#success"},
        "event": {"S": "send"},
        "outcome": {"S": "success"},
        "request_id": {"S": "r1"},
        "at": {"N": str(NOW)},
        "ttl": {"N": str(NOW + 86400)},
        "channel": {"S": "sms"},
    }
    assert second["event_key"] == {"S": "2027-01-15T08:00:00.250+00:00#r1#send#success#2"}
