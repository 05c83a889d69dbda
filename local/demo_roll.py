"""The demonstration electoral roll loaded by the local stack.

Fictional electors covering the cases of the seeds: different questions, NUMEN only, NIR10 only,
both, professional addresses at education.gouv.fr and in academies (ac-*.fr), and the electors
matching the FranceConnect emulator's test identities. Vote codes are drawn at each start.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from local.tables import put_roll_record
from reassort.adapters.system import SecretHasher, SystemRandom
from reassort.domain.codes import generate_vote_code
from reassort.domain.identity import IncompleteIdentityError, identity_digest
from reassort.domain.model import ElectorRecord
from reassort.domain.normalise import normalise_answer, parse_identifier


@dataclass(frozen=True)
class DemoElector:
    elector_id: str
    display_name: str
    pro_email: str
    question: str | None
    answer: str | None
    numen: str | None = None
    nir10: str | None = None
    vote_code: str = ""
    # FranceConnect emulator identity this elector matches (key of the emulator's identity list)
    fc_identity: str | None = None
    civil_identity: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def password(self) -> str:
        """Demonstration portal password: derived from the id, there is nothing to protect locally."""
        return f"demo-{self.elector_id}"

    def public(self) -> dict[str, Any]:
        """What the demonstration pages and the tests may show (everything but the civil identity)."""
        data = asdict(self)
        data.pop("civil_identity")
        data["password"] = self.password
        return data


DEMO_ELECTORS: tuple[DemoElector, ...] = (
    DemoElector(
        elector_id="100001",
        display_name="Claire MOREAU",
        pro_email="claire.moreau@education.gouv.fr",
        question="En quelle année avez-vous obtenu votre baccalauréat ?",
        answer="1997",
        numen="12E0412345ABC",
    ),
    DemoElector(
        elector_id="100002",
        display_name="Léa DUBOIS",
        pro_email="lea.dubois@ac-versailles.fr",
        question="Quel était le numéro de votre premier téléphone ?",
        answer="01 45 67 89 12",
        nir10="2850775123",
    ),
    DemoElector(
        elector_id="100003",
        display_name="Karim BENALI",
        pro_email="karim.benali@ac-lyon.fr",
        question="Quel est le nom de votre premier animal de compagnie ?",
        answer="Réglisse",
        numen="07L1234567XYZ",
        nir10="1780569123",
    ),
    DemoElector(
        elector_id="100004",
        display_name="Sophie LEFORT",
        pro_email="sophie.lefort@ac-montpellier.fr",
        question="Dans quelle ville êtes-vous né(e) ?",
        answer="Sète",
        numen="34S9876543DEF",
    ),
    DemoElector(
        elector_id="100005",
        display_name="Thomas GIRARD",
        pro_email="thomas.girard@ac-rennes.fr",
        question="Quel est le prénom de votre grand-mère maternelle ?",
        answer="Yvonne",
        nir10="1900335456",
    ),
)

# Domains of the demo roll's professional addresses, refused as personal destinations.
PROFESSIONAL_DOMAINS = (
    "education.gouv.fr",
    "ac-versailles.fr",
    "ac-lyon.fr",
    "ac-montpellier.fr",
    "ac-rennes.fr",
    "ac-demo.fr",
)


def franceconnect_electors() -> list[DemoElector]:
    """Electors matching the FranceConnect emulator's identities, when the emulator is present."""
    try:
        from local.fc_emulator.identities import fc_demo_electors
    except ImportError:
        return []
    electors = []
    for i, fc in enumerate(fc_demo_electors(), start=1):
        electors.append(
            DemoElector(
                elector_id=fc.elector_id,
                display_name=f"{fc.given_names.split(' ')[0].title()} {fc.family_name}",
                pro_email=fc.pro_email or f"{fc.elector_id}@ac-demo.fr",
                question="Quelle est la couleur de votre premier vélo ?",
                answer="bleu",
                numen=f"75F{i:07d}FCD",
                fc_identity=fc.identity_key,
                civil_identity={
                    "family_name": fc.family_name,
                    "given_names": fc.given_names,
                    "birthdate": fc.birthdate,
                    "gender": fc.gender,
                },
            )
        )
    return electors


def build_roll(hasher: SecretHasher, identity_key: bytes) -> list[tuple[DemoElector, ElectorRecord]]:
    """Each demo elector with a fresh vote code, and the roll record holding only hashes."""
    random = SystemRandom()
    roll = []
    for demo in (*DEMO_ELECTORS, *franceconnect_electors()):
        elector = replace(demo, vote_code=generate_vote_code(random))
        digest = None
        if elector.civil_identity:
            try:
                digest = identity_digest(identity_key, **elector.civil_identity)
            except IncompleteIdentityError:
                digest = None
        record = ElectorRecord(
            elector_id=elector.elector_id,
            display_name=elector.display_name,
            pro_email=elector.pro_email,
            question=elector.question,
            answer_hash=hasher.hash(normalise_answer(elector.answer)) if elector.answer else None,
            numen_hash=hasher.hash(parse_identifier(elector.numen).value) if elector.numen else None,
            nir_hash=hasher.hash(parse_identifier(elector.nir10).value) if elector.nir10 else None,
            vote_code_hash=hasher.hash(elector.vote_code),
            identity_digest=digest,
        )
        roll.append((elector, record))
    return roll


def load_roll(client: Any, table: str, roll: list[tuple[DemoElector, ElectorRecord]]) -> None:
    for _, record in roll:
        put_roll_record(client, table, record)
