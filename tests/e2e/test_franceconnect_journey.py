"""The FranceConnect journey in a real browser: portal → choice → FranceConnect (emulator) → link."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import BrowserPage, Stack

pytestmark = pytest.mark.e2e

INFO_SUBJECT = "Demande de réassort de votre code de vote"
LINK_SUBJECT = "Procéder au réassort de votre code de vote"
ELECTOR = "fc-demo-jean-pierre"  # matches the emulator identity "jean-pierre"
FC_EMAIL = "jp.lefevre@exemple-perso.fr"


def outbox_after(stack: Stack, since: int, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        messages = [m for m in stack.outbox() if m["seq"] > since]
        if len(messages) >= count or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


def last_seq(stack: Stack) -> int:
    messages = stack.outbox()
    return messages[-1]["seq"] if messages else 0


def through_franceconnect(web: BrowserPage, identity: str | None) -> None:
    """From the choice page, through the emulator's pages, back to a result page."""
    page = web.page
    page.locator("a.fr-connect").click()
    expect(page.get_by_role("heading", name="Je choisis un compte pour me connecter")).to_be_visible()
    if identity is None:
        page.locator("#fc-cancel").click()
    else:
        page.locator("#idp-demo").click()
        page.locator(f"#identity-{identity}").click()
    page.wait_for_url("**/reassort/franceconnect/**")


def test_given_an_elector_without_notice_when_the_franceconnect_journey_is_walked_then_new_code_replaces_old(
    web: BrowserPage, stack: Stack
) -> None:
    elector = stack.electors[ELECTOR]
    page = web.page
    start = last_seq(stack)

    web.login(ELECTOR)
    page.get_by_role("link", name="Cliquez ici pour obtenir un réassort de votre code de vote").click()
    expect(page.get_by_role("heading", name="Choix du réassort de votre code de vote")).to_be_visible()
    through_franceconnect(web, "jean-pierre")

    # Back from FranceConnect logout on the success page. No address, masked or not, in any URL:
    # the page names the FranceConnect account's address without showing it.
    page.wait_for_url("**/reassort/franceconnect/envoye*")
    expect(page.get_by_role("heading", name="Un lien vous a été envoyé")).to_be_visible()
    expect(page.locator("#fc-destination-sentence")).to_be_hidden()
    assert "#" not in page.url and "@" not in page.url
    web.capture("fc-01-lien-envoye")

    messages = outbox_after(stack, start, 2)
    assert [(m["subject"], m["to"]) for m in messages] == [
        (INFO_SUBJECT, [elector["pro_email"]]),
        (LINK_SUBJECT, [FC_EMAIL]),
    ]
    assert not messages[0]["links"], "the information e-mail must not carry the link"
    link = messages[1]["links"][0]

    page.goto(link)
    page.get_by_role("button", name="RÉGÉNÉRER MON CODE DE VOTE").click()
    expect(web.page.locator("#code .reassort-code__group")).to_have_count(3)
    new_code = "".join(page.locator("#code .reassort-code__group").all_inner_texts())
    assert len(new_code) == 12 and new_code != elector["vote_code"]

    web.goto("/local/vote")
    page.get_by_label("Code de vote").fill(elector["vote_code"])
    page.get_by_role("button", name="CONNEXION").click()
    expect(page.locator("#error-summary")).to_contain_text("Le code de vote saisi est incorrect.")
    page.get_by_label("Code de vote").fill(new_code)
    page.get_by_role("button", name="CONNEXION").click()
    expect(page.get_by_role("heading", name="Code de vote accepté")).to_be_visible()


def test_given_an_identity_of_someone_else_when_logging_in_then_not_recognised_and_nothing_sent(
    web: BrowserPage, stack: Stack
) -> None:
    start = last_seq(stack)
    web.login("fc-demo-helene")
    web.goto("/reassort/")
    through_franceconnect(web, "paul")
    page = web.page
    page.wait_for_url("**/reassort/franceconnect/identite-non-reconnue*")
    expect(page.get_by_role("heading", name="Votre identité n'a pas pu être reconnue")).to_be_visible()
    expect(page.get_by_role("link", name="Répondre à ma question Défi")).to_have_attribute(
        "href", "/reassort/question-defi"
    )
    # The identity check failed: another FranceConnect login would fail the same way.
    expect(
        page.get_by_text("réessayer avec le même compte FranceConnect donnera le même résultat")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Réessayer avec FranceConnect")).to_have_count(0)
    web.capture("fc-02-identite-non-reconnue")
    assert [m for m in stack.outbox() if m["seq"] > start] == []


def test_given_the_elector_cancels_at_franceconnect_when_back_then_cancelled_page_offers_both_ways(
    web: BrowserPage, stack: Stack
) -> None:
    web.login("fc-demo-ana-maria")
    web.goto("/reassort/")
    through_franceconnect(web, None)
    page = web.page
    page.wait_for_url("**/reassort/franceconnect/annule*")
    expect(page.get_by_role("link", name="Réessayer avec FranceConnect")).to_be_visible()
    web.capture("fc-03-annule")


def test_given_a_franceconnect_email_equal_to_the_professional_one_when_back_then_refusal_explains_why(
    web: BrowserPage, stack: Stack
) -> None:
    start = last_seq(stack)
    web.login("fc-demo-camille")
    web.goto("/reassort/")
    through_franceconnect(web, "camille")
    page = web.page
    page.wait_for_url("**/reassort/franceconnect/refuse*")
    expect(page.locator('[data-motif="adresse-professionnelle"]')).to_be_visible()
    expect(page.locator('[data-motif="defaut"]')).to_be_hidden()
    web.capture("fc-04-adresse-professionnelle")
    assert [m for m in stack.outbox() if m["seq"] > start] == []
