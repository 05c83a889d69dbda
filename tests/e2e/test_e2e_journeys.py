"""The seeds' journeys walked in a real browser, from the demonstration portal login."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import DISPLAY_SECONDS, BrowserPage, Stack

pytestmark = pytest.mark.e2e

INFO_SUBJECT = "Demande de réassort de votre code de vote"
LINK_SUBJECT = "Procéder au réassort de votre code de vote"
PRO_ADDRESS_MESSAGE = "Veuillez choisir une adresse mail personnelle"
DISPLAY_OVER = "L'affichage est terminé, le nouveau code est en vigueur"


def new_messages(stack: Stack, since: int) -> list[dict[str, Any]]:
    return [m for m in stack.outbox() if m["seq"] > since]


def last_seq(stack: Stack) -> int:
    messages = stack.outbox()
    return messages[-1]["seq"] if messages else 0


def wait_messages(stack: Stack, since: int, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        messages = new_messages(stack, since)
        if len(messages) >= count or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


def fill_challenge(web: BrowserPage, elector: dict[str, Any], channel: str, destination: str) -> None:
    page = web.page
    expect(page.locator("#question")).to_have_text(elector["question"])
    page.get_by_label("Saisissez votre réponse secrète").fill(elector["answer"])
    page.get_by_label("Saisissez votre NUMEN ou n°SS").fill(elector["numen"] or elector["nir10"])
    if channel == "email":
        page.locator('label[for="channel-email"]').click()  # DSFR draws the radio on the label
        expect(page.get_by_label("Envoi du lien d'activation par E-MAIL")).to_be_checked()
        expect(page.get_by_label("Numéro de téléphone portable")).to_be_hidden()
        page.get_by_label("Adresse mail personnelle").fill(destination)
    else:
        page.locator('label[for="channel-sms"]').click()
        expect(page.get_by_label("Envoi du lien d'activation par SMS")).to_be_checked()
        expect(page.get_by_label("Adresse mail personnelle")).to_be_hidden()
        page.get_by_label("Numéro de téléphone portable").fill(destination)


def code_on_page(web: BrowserPage) -> str:
    expect(web.page.locator("#code .reassort-code__group")).to_have_count(3)
    groups = web.page.locator("#code .reassort-code__group").all_inner_texts()
    assert [len(g) for g in groups] == [4, 4, 4], groups
    return "".join(groups)


def try_vote_code(web: BrowserPage, code: str) -> None:
    web.goto("/local/vote")
    web.page.get_by_label("Code de vote").fill(code)
    web.page.get_by_role("button", name="CONNEXION").click()


def test_given_an_elector_without_notice_when_the_email_journey_is_walked_then_the_new_code_replaces_the_old(
    web: BrowserPage, stack: Stack
) -> None:
    elector = stack.electors["100001"]
    page = web.page
    start = last_seq(stack)

    # Demo portal login, then the vote-code page of the portal.
    web.goto("/local/login")
    expect(page.locator(".fr-notice__title")).to_contain_text("Démonstration locale")
    expect(page.locator("#liste-electeurs tr").first).to_be_visible()
    web.capture("01-connexion-demo")
    web.login("100001")
    expect(page.get_by_role("heading", name="Saisie du code de vote")).to_be_visible()
    web.capture("02-saisie-code-de-vote")

    # Choice page: question Défi or FranceConnect.
    page.get_by_role("link", name="Cliquez ici pour obtenir un réassort de votre code de vote").click()
    expect(page.get_by_role("heading", name="Choix du réassort de votre code de vote")).to_be_visible()
    # Claire's roll entry has no civil identity: FranceConnect could not recognise her.
    expect(
        page.get_by_role("heading", name="FranceConnect n'est pas proposé pour votre compte")
    ).to_be_visible()
    expect(page.locator("a.fr-connect")).to_be_hidden()
    web.capture("03-choix-du-reassort")

    # Challenge form with the elector's own question.
    page.get_by_role("link", name="cliquez ici").click()
    expect(page.get_by_role("heading", name="Demande de réassort du code de vote")).to_be_visible()
    expect(page.get_by_text("ATTENTION :")).to_be_visible()
    expect(page.get_by_text("INFO :")).to_be_visible()
    expect(page.get_by_role("link", name="RETOUR")).to_be_visible()
    fill_challenge(web, elector, "email", "claire.perso@exemple.fr")
    web.capture("04-question-defi")
    page.get_by_role("button", name="ENVOYER").click()

    # Confirmation with the masked destination.
    page.wait_for_url("**/reassort/demande-envoyee")
    expect(page.locator("#destination-masquee")).to_have_text("c•••@exemple.fr")
    expect(page.locator("#canal")).to_have_text("par E-MAIL à")
    web.capture("05-demande-envoyee")

    # Information e-mail to the professional address first, then the link to the personal one.
    messages = wait_messages(stack, start, 2)
    assert [(m["subject"], m["to"]) for m in messages] == [
        (INFO_SUBJECT, [elector["pro_email"]]),
        (LINK_SUBJECT, ["claire.perso@exemple.fr"]),
    ]
    assert "c•••@exemple.fr" in messages[0]["body"]
    assert not messages[0]["links"], "the information e-mail must not carry the link"
    link = messages[1]["links"][0]
    assert re.fullmatch(re.escape(stack.url("/reassort/code-vote")) + r"#t=[A-Za-z0-9_-]{43}", link)

    # The outbox page lists both, with a clickable link.
    web.goto("/local/outbox")
    expect(page.get_by_role("cell", name=LINK_SUBJECT).first).to_be_visible()
    web.capture("06-boite-envoi")
    page.locator(f'a[href="{link}"]').first.click()

    # Link page: opening it consumes nothing; the token leaves the address bar.
    expect(page.get_by_role("button", name="RÉGÉNÉRER MON CODE DE VOTE")).to_be_visible()
    expect(page.get_by_text(f"durant {DISPLAY_SECONDS} secondes")).to_be_visible()
    assert "#t=" not in page.url
    web.capture("07-lien-reassort")

    # Freeze the page's clock so the code stays up while it is captured, then let it run out.
    frozen = datetime.now()
    page.clock.set_fixed_time(frozen)
    page.get_by_role("button", name="RÉGÉNÉRER MON CODE DE VOTE").click()
    expect(page.get_by_role("heading", name="Votre nouveau code de vote")).to_be_focused()
    new_code = code_on_page(web)
    assert new_code != elector["vote_code"]
    expect(page.locator("#compte-a-rebours")).to_have_text(f"Temps d'affichage restant : {DISPLAY_SECONDS} s")
    expect(page.locator("#annonce-temps")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#annonce-temps")).to_have_text(
        f"Votre code restera affiché {DISPLAY_SECONDS} secondes."
    )
    web.capture("08-nouveau-code")
    page.clock.set_fixed_time(frozen + timedelta(seconds=DISPLAY_SECONDS - 1))
    expect(page.locator("#compte-a-rebours")).to_have_text("Temps d'affichage restant : 1 s")
    page.clock.set_fixed_time(frozen + timedelta(seconds=DISPLAY_SECONDS + 1))
    expect(page.get_by_role("heading", name=DISPLAY_OVER)).to_be_visible()
    expect(page.locator("#code")).to_be_empty()
    assert new_code not in page.content()
    web.capture("09-session-terminee")

    # Back on the portal: the old code is refused, the new one accepted.
    try_vote_code(web, elector["vote_code"])
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Le code de vote saisi est incorrect.")
    expect(page.get_by_label("Code de vote")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Code de vote")).to_have_attribute("aria-describedby", "code-error")
    web.capture("10-ancien-code-refuse")
    page.get_by_label("Code de vote").fill(new_code)
    page.get_by_role("button", name="CONNEXION").click()
    expect(page.get_by_role("heading", name="Code de vote accepté")).to_be_visible()
    expect(summary).to_be_hidden()
    web.capture("11-nouveau-code-accepte")


def test_given_a_mobile_number_when_the_sms_journey_is_walked_then_the_code_shows_for_the_configured_time(
    web: BrowserPage, stack: Stack
) -> None:
    elector = stack.electors["100002"]
    page = web.page
    start = last_seq(stack)
    web.login("100002")
    web.goto("/reassort/question-defi")
    fill_challenge(web, elector, "sms", "06 12 34 56 78")
    page.get_by_role("button", name="ENVOYER").click()

    page.wait_for_url("**/reassort/demande-envoyee")
    expect(page.locator("#canal")).to_have_text("par SMS au")
    expect(page.locator("#destination-masquee")).to_have_text("+33 6 •• •• •• 78")

    messages = wait_messages(stack, start, 2)
    assert [m["kind"] for m in messages] == ["email", "sms"]
    assert messages[0]["to"] == [elector["pro_email"]] and messages[0]["subject"] == INFO_SUBJECT
    sms = messages[1]
    assert sms["to"] == ["+33612345678"]
    assert sms["body"].isascii(), "the SMS must stay in GSM-7 without accents"
    link = sms["links"][0]

    page.goto(link)
    with page.expect_response("**/api/links/redeem") as redeemed:
        page.get_by_role("button", name="RÉGÉNÉRER MON CODE DE VOTE").click()
    assert redeemed.value.status == 200
    assert "no-store" in redeemed.value.headers["cache-control"]
    new_code = code_on_page(web)
    shown_at = time.monotonic()
    # Real time this once: the code disappears after the configured display time.
    expect(page.get_by_role("heading", name=DISPLAY_OVER)).to_be_visible(timeout=(DISPLAY_SECONDS + 3) * 1000)
    assert time.monotonic() - shown_at >= DISPLAY_SECONDS - 1
    expect(page.locator("#code")).to_be_empty()

    try_vote_code(web, new_code)
    expect(page.get_by_role("heading", name="Code de vote accepté")).to_be_visible()


def test_given_the_professional_address_when_sending_then_the_seed_error_is_shown_and_nothing_is_sent(
    web: BrowserPage, stack: Stack
) -> None:
    elector = stack.electors["100003"]
    page = web.page
    start = last_seq(stack)
    web.login("100003")
    web.goto("/reassort/question-defi")
    fill_challenge(web, elector, "email", elector["pro_email"].upper())
    page.get_by_role("button", name="ENVOYER").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text(PRO_ADDRESS_MESSAGE)
    field = page.get_by_label("Adresse mail personnelle")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#destination-email-error")).to_contain_text(PRO_ADDRESS_MESSAGE)
    assert "destination-email-error" in (field.get_attribute("aria-describedby") or "")
    # The summary links to the field.
    summary.get_by_role("link").first.click()
    expect(field).to_be_focused()
    web.capture("12-adresse-professionnelle-refusee")
    assert new_messages(stack, start) == []


def test_given_a_wrong_answer_when_sending_then_a_generic_error_shows_the_remaining_attempts(
    web: BrowserPage, stack: Stack
) -> None:
    elector = stack.electors["100004"]
    page = web.page
    start = last_seq(stack)
    web.login("100004")
    web.goto("/reassort/question-defi")
    fill_challenge(web, {**elector, "answer": "Montpellier"}, "email", "sophie.perso@exemple.fr")
    page.get_by_role("button", name="ENVOYER").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("La réponse secrète ou le NUMEN / n°SS saisi est incorrect.")
    expect(summary).to_contain_text("Il vous reste 4 tentatives")
    web.capture("13-mauvaise-reponse")

    page.get_by_role("button", name="ENVOYER").click()
    expect(summary).to_contain_text("Il vous reste 3 tentatives")
    assert new_messages(stack, start) == []


def test_given_empty_fields_when_sending_then_each_field_shows_its_error(
    web: BrowserPage, stack: Stack
) -> None:
    page = web.page
    web.login("100005")
    web.goto("/reassort/question-defi")
    expect(page.locator("#question")).not_to_have_attribute("aria-busy", "true")
    page.get_by_role("button", name="ENVOYER").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_count(3)
    # Each message names its field: the summary lists them together.
    for field_id, message in (
        ("answer", "Saisissez votre réponse secrète."),
        ("identifier", "Saisissez votre NUMEN ou les 10 premiers chiffres de votre n°SS."),
    ):
        expect(page.locator(f"#{field_id}")).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#{field_id}-error")).to_have_text(message)
        expect(summary.get_by_role("link", name=message)).to_be_visible()
    expect(page.locator("#channel-error")).to_have_text("Choisissez l'envoi par SMS ou par E-MAIL.")
    page.locator('label[for="channel-sms"]').click()
    page.get_by_role("button", name="ENVOYER").click()
    expect(page.locator("#destination-sms-error")).to_have_text(
        "Saisissez votre numéro de téléphone portable."
    )
    web.capture("14-champs-obligatoires")


def test_given_a_keyboard_only_elector_when_filling_the_form_then_the_request_is_sent(
    web: BrowserPage, stack: Stack
) -> None:
    elector = stack.electors["100005"]
    page = web.page
    keyboard = page.keyboard
    web.login("100005")
    web.goto("/reassort/question-defi")
    expect(page.locator("#question")).to_have_text(elector["question"])
    page.locator("#answer").focus()
    keyboard.type(elector["answer"])
    keyboard.press("Tab")
    expect(page.locator("#identifier")).to_be_focused()
    keyboard.type(elector["nir10"])
    keyboard.press("Tab")
    expect(page.locator("#channel-sms")).to_be_focused()
    keyboard.press("ArrowDown")
    expect(page.locator("#channel-email")).to_be_checked()
    keyboard.press("Tab")
    expect(page.locator("#destination-email")).to_be_focused()
    keyboard.type("thomas.perso@exemple.fr")
    keyboard.press("Enter")
    page.wait_for_url("**/reassort/demande-envoyee")


def request_link(web: BrowserPage, stack: Stack, elector_id: str, destination: str) -> str:
    elector = stack.electors[elector_id]
    start = last_seq(stack)
    web.login(elector_id)
    web.goto("/reassort/question-defi")
    fill_challenge(web, elector, "email", destination)
    web.page.get_by_role("button", name="ENVOYER").click()
    web.page.wait_for_url("**/reassort/demande-envoyee")
    messages = wait_messages(stack, start, 2)
    return str(messages[-1]["links"][0])


def test_given_a_used_link_when_opened_again_after_the_display_then_it_says_the_new_code_is_in_force(
    web: BrowserPage, stack: Stack
) -> None:
    page = web.page
    link = request_link(web, stack, "100003", "karim.perso@exemple.fr")
    page.goto(link)
    page.get_by_role("button", name="RÉGÉNÉRER MON CODE DE VOTE").click()
    code_on_page(web)
    expect(page.get_by_role("heading", name=DISPLAY_OVER)).to_be_visible(timeout=(DISPLAY_SECONDS + 3) * 1000)

    page.goto(stack.url("/local/vote"))  # leave the page, as an elector would
    page.goto(link)
    heading = page.get_by_role("heading", name=DISPLAY_OVER)
    expect(heading).to_be_visible()
    expect(heading).to_be_focused()
    expect(page.get_by_role("button", name="RÉGÉNÉRER MON CODE DE VOTE")).to_be_hidden()
    web.capture("15-lien-deja-utilise")


def test_given_a_link_replaced_by_another_when_opened_then_it_is_refused_with_a_way_to_ask_for_another(
    web: BrowserPage, stack: Stack
) -> None:
    page = web.page
    first = request_link(web, stack, "100004", "sophie.perso@exemple.fr")
    second = request_link(web, stack, "100004", "sophie.autre@exemple.fr")
    page.goto(second)
    page.get_by_role("button", name="RÉGÉNÉRER MON CODE DE VOTE").click()
    code_on_page(web)
    page.on("dialog", lambda dialog: dialog.accept())  # leaving while the code shows asks first

    page.goto(first)
    heading = page.get_by_role("heading", name="Ce lien n'est plus valable")
    expect(heading).to_be_visible()
    expect(heading).to_be_focused()
    expect(page.locator("#message-invalide")).to_contain_text("remplacé par un autre lien")
    expect(page.get_by_role("link", name="Demander un nouveau lien")).to_have_attribute("href", "/reassort/")
    # Each sentence once: the title says the link is invalid, the text says why and what to do.
    main = page.locator("#invalide").inner_text()
    assert main.count("n'est plus valable") == 1, main
    assert main.count("Vous pouvez demander un nouveau lien") == 1, main
    web.capture("15b-lien-remplace")


def test_given_an_expired_link_when_opened_then_it_is_refused(web: BrowserPage, stack: Stack) -> None:
    page = web.page
    link = request_link(web, stack, "100005", "thomas.autre@exemple.fr")
    stack.set_clock_offset(3601)  # one second past the default 60-minute lifetime
    try:
        page.goto(link)
        expect(page.get_by_role("heading", name="Ce lien n'est plus valable")).to_be_visible()
        expect(page.get_by_role("button", name="RÉGÉNÉRER MON CODE DE VOTE")).to_be_hidden()
        web.capture("16-lien-expire")
    finally:
        stack.set_clock_offset(0)


def test_given_a_link_page_without_token_then_it_asks_to_open_the_received_link_again(
    web: BrowserPage,
) -> None:
    web.goto("/reassort/code-vote")
    expect(web.page.get_by_role("heading", name="Lien incomplet")).to_be_focused()
    expect(web.page.locator("#message-invalide")).to_contain_text("Ouvrez à nouveau le lien reçu")


def test_given_no_portal_session_when_opening_the_challenge_then_the_elector_is_told_to_log_in(
    web: BrowserPage,
) -> None:
    web.goto("/reassort/question-defi")
    alert = web.page.locator("#erreur-chargement")
    expect(alert).to_be_focused()
    expect(alert).to_contain_text("Reconnectez-vous au portail")
    expect(web.page.locator("#formulaire-defi")).to_be_hidden()
    web.capture("17-session-portail-absente")
