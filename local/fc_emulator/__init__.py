"""Local FranceConnect v2 emulator (local stack and tests only; never deployed)."""

from .identities import TEST_IDENTITIES, FcDemoElector, TestIdentity, fc_demo_electors, identity_by_key
from .server import ALLOWED_AUTHORIZE_PARAMETERS, Fault, FranceConnectEmulator

__all__ = [
    "ALLOWED_AUTHORIZE_PARAMETERS",
    "TEST_IDENTITIES",
    "Fault",
    "FcDemoElector",
    "FranceConnectEmulator",
    "TestIdentity",
    "fc_demo_electors",
    "identity_by_key",
]
