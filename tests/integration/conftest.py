from __future__ import annotations

import pytest

from tests.support.stack import Elector, Stack


@pytest.fixture
def marie(stack: Stack) -> Elector:
    return stack.add_elector(
        Elector(
            elector_id="E-0001",
            display_name="Marie Curie",
            pro_email="marie.curie@ac-paris.fr",
            question="Quel est le nom de votre premier animal ?",
            answer="Éléphant Rose",
            numen="12E3456789ABC",
            nir10="2850275123",
        )
    )


@pytest.fixture
def paul(stack: Stack) -> Elector:
    return stack.add_elector(
        Elector(
            elector_id="E-0002",
            display_name="Paul Langevin",
            pro_email="paul.langevin@education.gouv.fr",
            question="En quelle année avez-vous obtenu votre baccalauréat ?",
            answer="1977",
            nir10="1720175001",
        )
    )
