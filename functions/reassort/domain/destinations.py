"""Checking and masking where a link is sent. Addresses and numbers are never stored.

phonenumbers and email-validator are imported on first use: the redeem function never checks a
destination and saves ~40 ms of cold start.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import phonenumbers

# Metropolitan France and the overseas territories whose numbers take French mobile plans.
SMS_REGIONS = frozenset({"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF"})


def _is_mobile(number: phonenumbers.PhoneNumber) -> bool:
    import phonenumbers

    mobile_types = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
    return phonenumbers.number_type(number) in mobile_types


class DestinationError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


def normalise_email(raw: str) -> str:
    """Syntax only: no DNS look-up in the request path."""
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise DestinationError(
            "EMAIL_INVALID", "Saisissez une adresse e-mail valide, par exemple prenom.nom@exemple.fr."
        ) from exc
    return result.normalized


def is_professional_address(address: str, pro_email: str, pro_domains: tuple[str, ...]) -> bool:
    candidate = address.strip().casefold()
    if candidate == pro_email.strip().casefold():
        return True
    domain = candidate.rsplit("@", 1)[-1]
    return any(domain == d or domain.endswith("." + d) for d in pro_domains)


def normalise_mobile(raw: str) -> str:
    """E.164 of a mobile number of France or its overseas territories."""
    import phonenumbers

    invalid = DestinationError(
        "PHONE_INVALID",
        "Saisissez un numéro de téléphone portable valide, par exemple 06 12 34 56 78.",
    )
    try:
        number = phonenumbers.parse(raw, "FR")
    except phonenumbers.NumberParseException as exc:
        raise invalid from exc
    if not phonenumbers.is_valid_number(number):
        # Overseas electors type their number nationally (0690…, 0692…): the same 10 digits
        # belong to Guadeloupe, La Réunion… rather than to metropolitan France.
        number = _overseas_number(raw) or number
    if not phonenumbers.is_valid_number(number):
        raise invalid
    if phonenumbers.region_code_for_number(number) not in SMS_REGIONS:
        raise DestinationError(
            "PHONE_NOT_FRENCH",
            "Seuls les numéros de portable de France métropolitaine et d'outre-mer sont acceptés.",
        )
    if not _is_mobile(number):
        raise DestinationError(
            "PHONE_NOT_MOBILE",
            "Ce numéro n'est pas un numéro de portable : saisissez un numéro de mobile de France "
            "métropolitaine (06 ou 07) ou d'outre-mer (+590, +596, +594, +262, +508, +687, +689 ou +681).",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _overseas_number(raw: str) -> phonenumbers.PhoneNumber | None:
    import phonenumbers

    if raw.strip().startswith(("+", "00")):
        return None
    for region in sorted(SMS_REGIONS - {"FR"}):
        try:
            candidate = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(candidate) and _is_mobile(candidate):
            return candidate
    return None


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}"


def mask_phone(e164: str) -> str:
    """+33 6 •• •• •• 78: country code, first group and last group stay readable."""
    import phonenumbers

    number = phonenumbers.parse(e164, None)
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    parts = re.split(r"[ .\-]", formatted)
    if len(parts) <= 3:
        return parts[0] + " " + "•" * 4 + (parts[-1][-2:] if len(parts) > 1 else "")
    middle = ["•" * len(p) for p in parts[2:-1]]
    return " ".join([parts[0], parts[1], *middle, parts[-1]])
