"""Domain errors. Each one carries a stable machine code, an HTTP status and a French message.

The table in docs/errors.md is the public contract; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def paris_time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=PARIS)


class ReassortError(Exception):
    """Base of every error an elector may see. Never carries personal data."""

    code: ClassVar[str] = "SERVICE_UNAVAILABLE"
    status: ClassVar[int] = 503
    default_message: ClassVar[str] = (
        "Le service est momentanément indisponible. Veuillez réessayer dans quelques minutes."
    )

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.code)

    def extras(self) -> dict[str, Any]:
        return {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extras()}

    def headers(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class FieldProblem:
    name: str
    code: str
    message: str


class InvalidFields(ReassortError):
    code = "INVALID_FIELDS"
    status = 422
    default_message = "Le formulaire contient des erreurs. Corrigez les champs signalés puis réessayez."

    def __init__(self, fields: list[FieldProblem]) -> None:
        super().__init__()
        self.fields = fields

    def extras(self) -> dict[str, Any]:
        return {"fields": [{"name": f.name, "code": f.code, "message": f.message} for f in self.fields]}


PROFESSIONAL_ADDRESS_MESSAGE = (
    "Veuillez choisir une adresse mail personnelle. Celle-ci doit être différente de l'adresse "
    "sur laquelle vous avez reçu votre e-mail initial vous invitant à activer votre compte au "
    "portail Elections"
)


class ProfessionalAddressRefused(ReassortError):
    code = "PROFESSIONAL_ADDRESS_REFUSED"
    status = 422
    default_message = PROFESSIONAL_ADDRESS_MESSAGE

    def extras(self) -> dict[str, Any]:
        return {
            "fields": [
                {"name": "destination", "code": self.code, "message": self.message},
            ]
        }


class WrongCredentials(ReassortError):
    """Answer or identifier wrong: never says which (ANSSI R14)."""

    code = "WRONG_CREDENTIALS"
    status = 403

    def __init__(self, remaining_attempts: int) -> None:
        plural = "s" if remaining_attempts > 1 else ""
        super().__init__(
            "La réponse secrète ou le NUMEN / n°SS saisi est incorrect. "
            f"Il vous reste {remaining_attempts} tentative{plural} avant le blocage temporaire."
        )
        self.remaining_attempts = remaining_attempts

    def extras(self) -> dict[str, Any]:
        return {"remaining_attempts": self.remaining_attempts}


class AccountLocked(ReassortError):
    code = "ACCOUNT_LOCKED"
    status = 423

    def __init__(self, locked_until: float) -> None:
        until = paris_time(locked_until)
        super().__init__(
            "À la suite de plusieurs essais infructueux, le réassort de votre code de vote est "
            f"bloqué jusqu'à {until:%H:%M} (heure de Paris). Un e-mail d'alerte a été envoyé à "
            "votre adresse professionnelle."
        )
        self.locked_until = locked_until

    def extras(self) -> dict[str, Any]:
        return {"locked_until": paris_time(self.locked_until).isoformat(timespec="seconds")}


class AttemptsInProgress(ReassortError):
    """Every remaining attempt is being checked by other requests of the same elector."""

    code = "ATTEMPTS_IN_PROGRESS"
    status = 429
    retry_after_seconds = 5

    def __init__(self) -> None:
        super().__init__(
            "Plusieurs vérifications sont déjà en cours pour votre compte. Patientez quelques "
            "secondes, puis réessayez."
        )

    def extras(self) -> dict[str, Any]:
        return {"retry_after_seconds": self.retry_after_seconds}


class QuotaExceeded(ReassortError):
    code = "QUOTA_EXCEEDED"
    status = 429

    def __init__(self, quota: int, retry_after_seconds: int) -> None:
        super().__init__(
            f"Vous avez déjà demandé {quota} liens au cours des dernières 24 heures, le maximum "
            "autorisé. Utilisez l'un des liens déjà reçus (chacun reste valable tant qu'aucun "
            "n'a été utilisé) ou réessayez plus tard."
        )
        self.retry_after_seconds = max(retry_after_seconds, 1)

    def extras(self) -> dict[str, Any]:
        return {"retry_after_seconds": self.retry_after_seconds}


class ElectionClosed(ReassortError):
    code = "ELECTION_CLOSED"
    status = 403

    def __init__(self, opens_at: float | None, closes_at: float | None) -> None:
        parts = []
        if opens_at is not None:
            parts.append(f"du {paris_time(opens_at):%d/%m/%Y à %H:%M}")
        if closes_at is not None:
            parts.append(f"au {paris_time(closes_at):%d/%m/%Y à %H:%M}")
        period = " ".join(parts)
        super().__init__(
            "Le réassort du code de vote n'est possible que pendant la période de vote"
            + (f", {period} (heure de Paris)." if period else ".")
        )
        self.opens_at = opens_at
        self.closes_at = closes_at

    def extras(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.opens_at is not None:
            out["opens_at"] = paris_time(self.opens_at).isoformat(timespec="seconds")
        if self.closes_at is not None:
            out["closes_at"] = paris_time(self.closes_at).isoformat(timespec="seconds")
        return out


class LinkInvalid(ReassortError):
    """Expired, used, revoked, unknown and malformed links all look the same to the elector."""

    code = "LINK_INVALID"
    status = 410
    default_message = (
        "Ce lien n'est plus valable : il a expiré, a déjà été utilisé ou a été remplacé par un "
        "autre lien. Vous pouvez demander un nouveau lien depuis la page de saisie du code de vote."
    )


class DisplayOver(ReassortError):
    """The link was redeemed and its display window is over: the new code is in force."""

    code = "DISPLAY_OVER"
    status = 410
    default_message = (
        "L'affichage est terminé, le nouveau code est en vigueur : c'est lui qui vous permettra de "
        "voter. Il ne peut plus être affiché ; si vous ne l'avez pas noté, demandez un nouveau lien "
        "depuis la page de saisie du code de vote."
    )


class SendFailed(ReassortError):
    code = "SEND_FAILED"
    status = 503
    default_message = (
        "L'envoi n'a pas pu être effectué et aucun lien n'a été émis. "
        "Veuillez réessayer dans quelques minutes."
    )

    def extras(self) -> dict[str, Any]:
        return {"retry_after_seconds": 60}


class Unauthenticated(ReassortError):
    code = "UNAUTHENTICATED"
    status = 401
    default_message = (
        "Votre session sur le portail Elections a expiré ou n'est pas reconnue. "
        "Reconnectez-vous au portail puis recommencez."
    )


class ElectorUnknown(ReassortError):
    code = "ELECTOR_UNKNOWN"
    status = 403
    default_message = (
        "Votre compte électeur n'a pas été trouvé sur la liste électorale de ce scrutin. "
        "Contactez l'assistance du portail Elections."
    )


class ChallengeNotSet(ReassortError):
    code = "CHALLENGE_NOT_SET"
    status = 409
    default_message = (
        "Aucune question Défi n'est enregistrée pour votre compte électeur. "
        "Utilisez FranceConnect pour obtenir un nouveau code de vote."
    )


class NotFound(ReassortError):
    code = "NOT_FOUND"
    status = 404
    default_message = "La ressource demandée n'existe pas."


class ServiceUnavailable(ReassortError):
    code = "SERVICE_UNAVAILABLE"
    status = 503


class MalformedRequest(ReassortError):
    """The body cannot be read at all: not UTF-8, not JSON, or nested beyond reason."""

    code = "MALFORMED_REQUEST"
    status = 400
    default_message = "La requête est illisible : elle doit être un objet JSON encodé en UTF-8."


class CrossOriginRefused(ReassortError):
    """A state-changing request sent by a page of another origin (or another site)."""

    code = "CROSS_ORIGIN_REFUSED"
    status = 403
    default_message = (
        "Cette demande ne provient pas du site du réassort du code de vote et a été refusée. "
        "Ouvrez la page de saisie du code de vote puis recommencez."
    )


class MethodNotAllowed(ReassortError):
    code = "METHOD_NOT_ALLOWED"
    status = 405
    default_message = "Cette adresse n'accepte pas cette méthode."

    def __init__(self, allowed: list[str]) -> None:
        super().__init__()
        self.allowed = sorted(set(allowed))

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)}


class PayloadTooLarge(ReassortError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413
    default_message = "La requête est trop volumineuse."


class UnsupportedMediaType(ReassortError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415
    default_message = "La requête doit être envoyée en JSON (Content-Type: application/json)."


class FieldCode:
    """The codes of ``fields[].code``: the project's own, stable, all in docs/errors.md."""

    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    NOT_TEXT = "NOT_TEXT"
    TEXT_INVALID = "TEXT_INVALID"
    CHANNEL_INVALID = "CHANNEL_INVALID"
    VALUE_INVALID = "VALUE_INVALID"
    IDENTIFIER_FORMAT = "IDENTIFIER_FORMAT"
    EMAIL_INVALID = "EMAIL_INVALID"
    PHONE_INVALID = "PHONE_INVALID"
    PHONE_NOT_FRENCH = "PHONE_NOT_FRENCH"
    PHONE_NOT_MOBILE = "PHONE_NOT_MOBILE"
    PROFESSIONAL_ADDRESS_REFUSED = "PROFESSIONAL_ADDRESS_REFUSED"

    @classmethod
    def all(cls) -> frozenset[str]:
        return frozenset(v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str))


@dataclass
class ErrorCatalogue:
    """Every error class the API can answer with, for docs/errors.md and its test."""

    classes: list[type[ReassortError]] = field(
        default_factory=lambda: [
            InvalidFields,
            ProfessionalAddressRefused,
            WrongCredentials,
            AccountLocked,
            AttemptsInProgress,
            QuotaExceeded,
            ElectionClosed,
            LinkInvalid,
            DisplayOver,
            SendFailed,
            Unauthenticated,
            ElectorUnknown,
            ChallengeNotSet,
            NotFound,
            ServiceUnavailable,
            MalformedRequest,
            CrossOriginRefused,
            MethodNotAllowed,
            PayloadTooLarge,
            UnsupportedMediaType,
        ]
    )
