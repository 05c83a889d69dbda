"""French texts of the messages, following the wording of the election's guides."""

from __future__ import annotations

import html
from dataclasses import dataclass

from .errors import paris_time
from .model import Channel, Method

SIGNATURE = "Cordialement,\nL'équipe élections"
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
SMS_MAX_LENGTH = 160


@dataclass(frozen=True)
class EmailMessage:
    subject: str
    text: str
    html: str


def _html(paragraphs: list[str]) -> str:
    body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<!doctype html><html lang="fr"><body>{body}</body></html>'


def _email(subject: str, paragraphs: list[str]) -> EmailMessage:
    return EmailMessage(subject=subject, text="\n\n".join(paragraphs) + "\n", html=_html(paragraphs))


def information_email(
    display_name: str, channel: Channel, method: Method, masked_destination: str, at: float
) -> EmailMessage:
    when = paris_time(at)
    if method is Method.FRANCECONNECT:
        where = (
            "Un lien à usage unique vient d'être envoyé par e-mail à l'adresse de contact de votre "
            f"compte FranceConnect : {masked_destination}"
        )
    elif channel is Channel.SMS:
        where = f"Un lien à usage unique vient d'être envoyé par SMS au numéro : {masked_destination}"
    else:
        where = f"Un lien à usage unique vient d'être envoyé par e-mail à l'adresse : {masked_destination}"
    return _email(
        "Demande de réassort de votre code de vote",
        [
            f"Bonjour {display_name},",
            "Une demande de réassort de votre code de vote a été faite pour votre compte électeur "
            f"le {when:%d/%m/%Y à %H:%M} (heure de Paris).",
            where,
            "Si vous n'êtes pas à l'origine de cette demande, n'utilisez aucun lien reçu et "
            "contactez sans attendre l'assistance du portail Elections. Votre code de vote actuel "
            "reste valable tant que le lien n'a pas été utilisé.",
            SIGNATURE,
        ],
    )


def link_email(display_name: str, link_url: str, link_minutes: int, display_seconds: int) -> EmailMessage:
    return _email(
        "Procéder au réassort de votre code de vote",
        [
            f"Bonjour {display_name},",
            "Pour obtenir votre nouveau code de vote, ouvrez le lien à usage unique ci-dessous. "
            f"Il est valable {link_minutes} minutes.",
            link_url,
            "Avant de cliquer sur le bouton « Régénérer mon code de vote », munissez-vous de quoi "
            "le noter (crayon et papier, ou appareil photo de votre téléphone) : votre nouveau "
            f"code ne sera visible que {display_seconds} secondes.",
            "Si vous avez reçu plusieurs liens, n'importe lequel fonctionne ; le premier utilisé "
            "annule les autres. Votre ancien code de vote cessera de fonctionner dès que le "
            "nouveau sera affiché.",
            SIGNATURE,
        ],
    )


def lock_alert_email(display_name: str, locked_until: float, lock_minutes: int) -> EmailMessage:
    until = paris_time(locked_until)
    return _email(
        "Alerte : réassort de votre code de vote bloqué",
        [
            f"Bonjour {display_name},",
            "Plusieurs tentatives de réassort de votre code de vote ont échoué (réponse à la "
            f"question Défi ou NUMEN / n°SS incorrects). Par sécurité, le réassort est bloqué "
            f"pendant {lock_minutes} minutes, jusqu'à {until:%H:%M} (heure de Paris).",
            "Si ces tentatives ne viennent pas de vous, contactez l'assistance du portail "
            "Elections. Votre code de vote actuel n'a pas été modifié.",
            SIGNATURE,
        ],
    )


def link_sms(link_url: str, link_minutes: int) -> str:
    """One GSM-7 part, no accents and no STOP mention: a transactional message."""
    text = f"Elections pro: lien unique pour votre nouveau code de vote ({link_minutes} min): {link_url}"
    if len(text) > SMS_MAX_LENGTH:
        text = f"Nouveau code de vote ({link_minutes} min): {link_url}"
    if len(text) > SMS_MAX_LENGTH or not set(text) <= GSM7_BASIC:
        raise ValueError("the SMS does not fit one GSM-7 part; shorten PUBLIC_BASE_URL")
    return text


def link_url(base_url: str, token: str) -> str:
    # In the fragment: browsers never send it to a server, so it reaches no log nor Referer.
    return f"{base_url.rstrip('/')}/reassort/code-vote#t={token}"
