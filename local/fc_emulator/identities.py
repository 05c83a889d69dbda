"""Test identities of the FranceConnect emulator, and the roll entries that should match them.

FranceConnect sends the civil identity as the registers write it (accents, hyphens, several
given names); the roll writes it its own way (upper case, no accents, sometimes ``00`` for an
unknown day). Each identity below exercises one of those differences, so the demo roll built
from :func:`fc_demo_electors` proves the normalisation end to end.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["TEST_IDENTITIES", "FcDemoElector", "TestIdentity", "fc_demo_electors", "identity_by_key"]


@dataclass(frozen=True)
class TestIdentity:
    key: str  # stable handle used by the choice page and the tests
    label: str  # what the identity list shows
    given_names: tuple[str, ...]
    family_name: str  # birth name
    preferred_username: str  # usage name, "" when none
    birthdate: str
    gender: str  # "male" | "female"
    birthplace: str  # INSEE COG code of the commune, "" when born abroad
    birthcountry: str  # INSEE COG code of the country, 99100 = France
    email: str
    # The roll entry this identity should match (None: the identity matches nobody).
    elector_id: str | None
    roll_family_name: str
    roll_given_names: str
    roll_birthdate: str
    roll_gender: str
    # Only set when the roll's professional address matters for the scenario.
    roll_pro_email: str | None = None

    __test__ = False  # not a pytest class, despite its name

    def sub(self, client_id: str) -> str:
        """A pairwise subject, as FranceConnect gives one per service provider."""
        return hashlib.sha256(f"{client_id}:{self.key}".encode()).hexdigest() + "v1"

    def userinfo_claims(self) -> dict[str, object]:
        return {
            "given_name": " ".join(self.given_names),
            "given_name_array": list(self.given_names),
            "family_name": self.family_name,
            "preferred_username": self.preferred_username,
            "birthdate": self.birthdate,
            "gender": self.gender,
            "birthplace": self.birthplace,
            "birthcountry": self.birthcountry,
            "email": self.email,
        }


TEST_IDENTITIES: tuple[TestIdentity, ...] = (
    TestIdentity(
        key="jean-pierre",
        label="Jean-Pierre Marie LEFÈVRE — prénom composé, plusieurs prénoms",
        given_names=("Jean-Pierre", "Marie"),
        family_name="Lefèvre",
        preferred_username="",
        birthdate="1975-04-12",
        gender="male",
        birthplace="75056",
        birthcountry="99100",
        email="jp.lefevre@exemple-perso.fr",
        elector_id="fc-demo-jean-pierre",
        roll_family_name="LEFEVRE",
        roll_given_names="JEAN-PIERRE MARIE",
        roll_birthdate="1975-04-12",
        roll_gender="M",
    ),
    TestIdentity(
        key="helene",
        label="Hélène D'Arcy-Dupré — nom accentué avec trait d'union et apostrophe",
        given_names=("Hélène", "Françoise"),
        family_name="D'Arcy-Dupré",
        preferred_username="Moreau",
        birthdate="1982-11-30",
        gender="female",
        birthplace="69123",
        birthcountry="99100",
        email="helene.darcy@exemple-perso.fr",
        elector_id="fc-demo-helene",
        roll_family_name="D ARCY DUPRE",
        roll_given_names="HELENE",
        roll_birthdate="1982-11-30",
        roll_gender="F",
    ),
    TestIdentity(
        key="fatoumata",
        label="Fatoumata KONÉ — date de naissance présumée",
        given_names=("Fatoumata",),
        family_name="Koné",
        preferred_username="",
        birthdate="1979-01-01",
        gender="female",
        birthplace="",
        birthcountry="99326",
        email="fatoumata.kone@exemple-perso.fr",
        elector_id="fc-demo-fatoumata",
        roll_family_name="KONE",
        roll_given_names="FATOUMATA",
        roll_birthdate="1979-00-00",
        roll_gender="F",
    ),
    TestIdentity(
        key="ana-maria",
        label="Ana María GARCÍA LÓPEZ — née à l'étranger, nom en deux mots",
        given_names=("Ana", "María"),
        family_name="García López",
        preferred_username="",
        birthdate="1987-06-21",
        gender="female",
        birthplace="",
        birthcountry="99134",
        email="ana.garcia@exemple-perso.es",
        elector_id="fc-demo-ana-maria",
        roll_family_name="GARCIA-LOPEZ",
        roll_given_names="ANA MARIA",
        roll_birthdate="1987-06-21",
        roll_gender="F",
    ),
    TestIdentity(
        key="paul",
        label="Paul INCONNU — ne correspond à aucun électeur",
        given_names=("Paul",),
        family_name="Inconnu",
        preferred_username="",
        birthdate="1970-01-15",
        gender="male",
        birthplace="13055",
        birthcountry="99100",
        email="paul.inconnu@exemple-perso.fr",
        elector_id=None,
        roll_family_name="",
        roll_given_names="",
        roll_birthdate="",
        roll_gender="",
    ),
    TestIdentity(
        key="camille",
        label="Camille MARTIN — e-mail FranceConnect égal à l'adresse professionnelle",
        given_names=("Camille",),
        family_name="Martin",
        preferred_username="",
        birthdate="1985-09-03",
        gender="female",
        birthplace="33063",
        birthcountry="99100",
        email="Camille.Martin@ac-demo.fr",
        elector_id="fc-demo-camille",
        roll_family_name="MARTIN",
        roll_given_names="CAMILLE",
        roll_birthdate="1985-09-03",
        roll_gender="F",
        roll_pro_email="camille.martin@ac-demo.fr",
    ),
)


def identity_by_key(key: str) -> TestIdentity:
    for identity in TEST_IDENTITIES:
        if identity.key == key:
            return identity
    raise KeyError(key)


@dataclass(frozen=True)
class FcDemoElector:
    """What the demo roll needs to register an elector matching a test identity."""

    elector_id: str
    identity_key: str
    family_name: str
    given_names: str
    birthdate: str
    gender: str
    pro_email: str | None  # None: the roll picks its own professional address


def fc_demo_electors() -> list[FcDemoElector]:
    """One roll entry per test identity that should match an elector, spelled the roll's way."""
    return [
        FcDemoElector(
            elector_id=identity.elector_id,
            identity_key=identity.key,
            family_name=identity.roll_family_name,
            given_names=identity.roll_given_names,
            birthdate=identity.roll_birthdate,
            gender=identity.roll_gender,
            pro_email=identity.roll_pro_email,
        )
        for identity in TEST_IDENTITIES
        if identity.elector_id is not None
    ]
