"""A new code is never lost: within its display window the same link shows the same code again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import DISPLAY_SECONDS, BrowserPage, Stack
from tests.e2e.test_e2e_journeys import DISPLAY_OVER, code_on_page, request_link, try_vote_code

pytestmark = pytest.mark.e2e

REGENERATE = "RÉGÉNÉRER MON CODE DE VOTE"
# The stack shows codes for DISPLAY_SECONDS; moving its clock back keeps the code displayable
# while the browser reloads and navigates, however slow the machine.
WINDOW_HELD_OPEN = 600


@pytest.fixture
def held_window(stack: Stack) -> Iterator[None]:
    yield
    stack.set_clock_offset(0)


def remaining_seconds(web: BrowserPage) -> int:
    text = web.page.locator("#compte-a-rebours").inner_text()
    match = re.fullmatch(r"Temps d'affichage restant : (?:(\d+) min )?(\d+) s", text)
    assert match, text
    return int(match.group(1) or 0) * 60 + int(match.group(2))


def redeem_on_page(web: BrowserPage, link: str) -> str:
    web.page.goto(link)
    web.page.get_by_role("button", name=REGENERATE).click()
    return code_on_page(web)


def accept_dialogs(page: Any) -> list[str]:
    seen: list[str] = []

    def accept(dialog: Any) -> None:
        seen.append(dialog.type)
        dialog.accept()

    page.on("dialog", accept)
    return seen


def test_given_a_shown_code_when_reloaded_navigated_back_and_reopened_then_the_same_code_shows_with_the_time_left(
    web: BrowserPage, stack: Stack, browser: Any, held_window: None
) -> None:
    page = web.page
    link = request_link(web, stack, "fc-demo-helene", "helene.perso@exemple.fr")
    code = redeem_on_page(web, link)
    stack.set_clock_offset(-WINDOW_HELD_OPEN)
    dialogs = accept_dialogs(page)

    # Reload.
    page.reload()
    assert code_on_page(web) == code
    expect(page.locator("#deja-affiche")).to_be_visible()
    assert DISPLAY_SECONDS < remaining_seconds(web) <= WINDOW_HELD_OPEN + DISPLAY_SECONDS
    assert dialogs == ["beforeunload"], "leaving a shown code asks for confirmation"
    web.capture("20-code-reaffiche")

    # Away, back, forward, back.
    page.goto(stack.url("/local/vote"))
    page.go_back()
    assert code_on_page(web) == code
    page.go_forward()
    expect(page.get_by_role("heading", name="Saisie du code de vote")).to_be_visible()
    page.go_back()
    assert code_on_page(web) == code

    # Opened again from the message, in another browser (no state in common with this one).
    other = browser.new_context(locale="fr-FR")
    try:
        again = other.new_page()
        again.goto(link)
        expect(again.get_by_role("heading", name="Votre nouveau code de vote")).to_be_focused()
        expect(again.locator("#code .reassort-code__group")).to_have_count(3)
        assert "".join(again.locator("#code .reassort-code__group").all_inner_texts()) == code
        expect(again.get_by_role("button", name=REGENERATE)).to_be_hidden()
    finally:
        other.close()

    # After the window: the display is over and the code shown is the one in force.
    stack.set_clock_offset(WINDOW_HELD_OPEN)
    page.reload()
    heading = page.get_by_role("heading", name=DISPLAY_OVER)
    expect(heading).to_be_focused()
    expect(page.locator("#code")).to_be_empty()
    assert code not in page.content()
    web.capture("21-affichage-termine")
    stack.set_clock_offset(0)
    try_vote_code(web, code)
    expect(page.get_by_role("heading", name="Code de vote accepté")).to_be_visible()


def test_given_the_answer_is_lost_after_the_server_replaced_the_code_when_retried_then_that_code_shows(
    web: BrowserPage, stack: Stack
) -> None:
    page = web.page
    link = request_link(web, stack, "fc-demo-ana-maria", "ana.perso@exemple.fr")
    committed: list[dict[str, Any]] = []

    def drop_after_commit(route: Any) -> None:
        response = route.fetch()  # the server handles the request and commits
        committed.append(response.json())
        route.abort("connectionreset")  # ... but the answer never reaches the page

    page.route("**/api/links/redeem", drop_after_commit)
    page.goto(link)
    page.get_by_role("button", name=REGENERATE).click()
    lost = page.get_by_role("heading", name="La réponse du service ne nous est pas parvenue")
    expect(lost).to_be_focused()
    expect(page.locator("#message-perdu")).to_contain_text("Le service ne répond pas")
    web.capture("22-reponse-perdue")
    assert len(committed) == 1 and committed[0]["shown_before"] is False

    page.unroute("**/api/links/redeem")
    page.get_by_role("button", name="Réessayer").click()
    assert code_on_page(web) == committed[0]["vote_code"]
    expect(page.locator("#deja-affiche")).to_be_visible()
    expect(page.get_by_role("heading", name=DISPLAY_OVER)).to_be_visible(timeout=(DISPLAY_SECONDS + 3) * 1000)
    try_vote_code(web, committed[0]["vote_code"])
    expect(page.get_by_role("heading", name="Code de vote accepté")).to_be_visible()


def test_given_a_shown_code_when_leaving_then_the_browser_asks_first_and_not_once_the_display_is_over(
    web: BrowserPage, stack: Stack, held_window: None
) -> None:
    page = web.page
    link = request_link(web, stack, "fc-demo-ana-maria", "ana.autre@exemple.fr")
    page.clock.install()  # the page's own time, to run its countdown out at once below
    redeem_on_page(web, link)
    stack.set_clock_offset(-WINDOW_HELD_OPEN)
    asked: list[str] = []

    def stay(dialog: Any) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.close(run_before_unload=True)
    expect(page.locator("#code .reassort-code__group")).to_have_count(3)
    assert asked == ["beforeunload"] and not page.is_closed()

    page.remove_listener("dialog", stay)
    page.clock.fast_forward((WINDOW_HELD_OPEN + DISPLAY_SECONDS + 1) * 1000)
    expect(page.get_by_role("heading", name=DISPLAY_OVER)).to_be_visible()
    quiet = accept_dialogs(page)
    page.close(run_before_unload=True)
    assert quiet == []


def test_given_a_link_page_when_another_link_is_pasted_in_the_same_tab_then_the_page_reads_it(
    web: BrowserPage, stack: Stack
) -> None:
    page = web.page
    link = request_link(web, stack, "fc-demo-fatoumata", "fatoumata.perso@exemple.fr")
    web.goto("/reassort/code-vote#t=" + "A" * 43)  # a link that is not (or no longer) valid
    expect(page.get_by_role("heading", name="Ce lien n'est plus valable")).to_be_focused()
    page.evaluate("() => { window.sameDocument = true; }")

    page.goto(link)  # only the fragment differs: the browser does not load the page again
    expect(page.get_by_role("button", name=REGENERATE)).to_be_visible()
    assert page.evaluate("() => window.sameDocument === true")
    assert "#t=" not in page.url
