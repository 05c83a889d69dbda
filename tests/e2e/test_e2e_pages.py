"""Every page complete and readable on a phone: legal pages, choice logic, result pages, layout."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import BrowserPage, Stack

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 667}
LEGAL_PAGES = {
    "/reassort/accessibilite": "Déclaration d'accessibilité",
    "/reassort/mentions-legales": "Mentions légales",
    "/reassort/donnees-personnelles": "Données personnelles",
}
# Every page an elector may land on without a journey behind it.
STATIC_PAGES = {
    "/reassort/": "choix",
    "/reassort/code-vote": "code-vote-sans-lien",
    "/reassort/franceconnect/envoye": "fc-envoye",
    "/reassort/franceconnect/annule": "fc-annule",
    "/reassort/franceconnect/indisponible": "fc-indisponible",
    "/reassort/franceconnect/identite-non-reconnue": "fc-identite-non-reconnue",
    "/reassort/franceconnect/refuse?motif=sans-identite": "fc-refuse-sans-identite",
    "/page-inconnue": "404",
    **{path: path.rsplit("/", 1)[1] for path in LEGAL_PAGES},
}


@pytest.fixture
def phone(browser: Any, stack: Stack) -> Iterator[BrowserPage]:
    context = browser.new_context(locale="fr-FR", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    wrapper = BrowserPage(page=context.new_page(), stack=stack)
    wrapper.page.on("pageerror", lambda error: wrapper.problems.append(f"page error: {error}"))
    yield wrapper
    context.close()
    assert not wrapper.problems, wrapper.problems


@pytest.mark.parametrize("path", list(STATIC_PAGES))
def test_given_any_page_on_desktop_and_phone_then_axe_finds_nothing_serious_and_the_footer_is_complete(
    web: BrowserPage, phone: BrowserPage, path: str
) -> None:
    for view, suffix in ((web, ""), (phone, "-telephone")):
        view.goto(path)
        footer = view.page.locator("footer.fr-footer")
        expect(footer.get_by_role("link", name="Accessibilité : non conforme")).to_have_attribute(
            "href", "/reassort/accessibilite"
        )
        expect(footer.get_by_role("link", name="Mentions légales")).to_be_visible()
        expect(footer.get_by_role("link", name="Données personnelles")).to_be_visible()
        view.capture(f"page-{STATIC_PAGES[path]}{suffix}")


@pytest.mark.parametrize(("path", "title"), list(LEGAL_PAGES.items()))
def test_given_a_legal_page_then_it_is_reached_from_the_footer_and_says_what_the_law_asks(
    web: BrowserPage, path: str, title: str
) -> None:
    page = web.page
    web.goto("/reassort/")
    page.locator("footer").get_by_role(
        "link", name=title.replace("Déclaration d'accessibilité", "Accessibilité")
    ).click()
    page.wait_for_url(f"**{path}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    text = page.locator("main").inner_text()
    expected = {
        "/reassort/accessibilite": [
            "non conforme",
            "RGAA",
            "axe-core",
            "Défenseur des droits",
            "accessibilite-elections@",
        ],
        "/reassort/mentions-legales": ["Éditeur", "Directeur de la publication", "Hébergement"],
        "/reassort/donnees-personnelles": [
            "Responsable du traitement",
            "400 jours",
            "dpd@education.gouv.fr",
            "CNIL",
        ],
    }[path]
    for phrase in expected:
        assert phrase in text, phrase


def test_given_an_elector_whose_roll_entry_has_no_civil_identity_then_franceconnect_is_not_offered(
    web: BrowserPage, stack: Stack
) -> None:
    page = web.page
    web.login("100005")  # a roll entry without civil identity
    web.goto("/reassort/")
    note = page.get_by_role("heading", name="FranceConnect n'est pas proposé pour votre compte")
    expect(note).to_be_visible()
    expect(page.locator("a.fr-connect")).to_be_hidden()
    expect(page.get_by_role("link", name="cliquez ici")).to_have_attribute("href", "/reassort/question-defi")
    web.capture("18-choix-sans-franceconnect")

    # Reached anyway (an old bookmark): refused at once, and sent to the question Défi only.
    web.goto("/api/fc/login")
    page.wait_for_url("**/reassort/franceconnect/refuse?motif=sans-identite")
    expect(page.locator('[data-motif="sans-identite"]')).to_be_visible()
    expect(page.get_by_role("link", name="Réessayer avec FranceConnect")).to_be_hidden()
    expect(page.get_by_role("link", name="Répondre à ma question Défi")).to_be_visible()


def test_given_an_elector_with_a_civil_identity_then_both_ways_are_offered(web: BrowserPage) -> None:
    page = web.page
    web.login("fc-demo-jean-pierre")
    web.goto("/reassort/")
    expect(page.locator("a.fr-connect")).to_have_attribute("href", "/api/fc/login")
    expect(page.get_by_role("link", name="cliquez ici")).to_be_visible()
    expect(
        page.get_by_role("heading", name="FranceConnect n'est pas proposé pour votre compte")
    ).to_be_hidden()
    web.capture("03b-choix-avec-franceconnect")


def test_given_franceconnect_is_down_then_the_page_says_retry_later_and_offers_both_ways(
    web: BrowserPage,
) -> None:
    page = web.page
    web.goto("/reassort/franceconnect/indisponible")
    expect(page.get_by_text("Réessayez plus tard")).to_be_visible()
    expect(page.get_by_role("link", name="Réessayer avec FranceConnect")).to_be_visible()
    expect(page.get_by_role("link", name="Répondre à ma question Défi")).to_be_visible()


def test_given_a_phone_when_the_challenge_form_shows_then_its_notes_come_before_the_fields(
    phone: BrowserPage,
) -> None:
    page = phone.page
    phone.login("100002")
    phone.goto("/reassort/question-defi")
    attention = page.get_by_text("ATTENTION :")
    expect(attention).to_be_visible()
    notes_bottom = max(
        box["y"] + box["height"]
        for box in (attention.bounding_box(), page.get_by_text("INFO :").bounding_box())
        if box
    )
    answer = page.get_by_label("Saisissez votre réponse secrète").bounding_box()
    send = page.get_by_role("button", name="ENVOYER").bounding_box()
    assert answer and send and notes_bottom < answer["y"] < send["y"]
    phone.capture("04-question-defi-telephone")


def test_given_a_desktop_when_the_challenge_form_shows_then_its_notes_sit_beside_the_form(
    web: BrowserPage,
) -> None:
    page = web.page
    web.login("100002")
    web.goto("/reassort/question-defi")
    expect(page.get_by_text("ATTENTION :")).to_be_visible()
    note = page.get_by_text("ATTENTION :").bounding_box()
    answer = page.get_by_label("Saisissez votre réponse secrète").bounding_box()
    assert note and answer and note["x"] > answer["x"] + answer["width"]


def test_given_the_clipboard_is_refused_when_copying_then_the_hint_suits_a_phone_too(
    phone: BrowserPage, stack: Stack
) -> None:
    from tests.e2e.test_e2e_journeys import code_on_page, request_link

    page = phone.page
    link = request_link(phone, stack, "fc-demo-camille", "camille.perso@exemple.fr")
    page.add_init_script("navigator.clipboard.writeText = () => Promise.reject(new Error('refused'));")
    page.goto(link)
    page.get_by_role("button", name="RÉGÉNÉRER MON CODE DE VOTE").click()
    code = code_on_page(phone)
    page.get_by_role("button", name="Copier le code").click()
    status = page.locator("#copie-statut")
    expect(status).to_contain_text("appui long sur un téléphone")
    assert page.evaluate("() => window.getSelection().toString().replace(/\\s/g, '')") == code
    phone.capture("08-nouveau-code-telephone")
