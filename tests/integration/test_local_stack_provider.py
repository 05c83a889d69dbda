"""The local stack logs in with any OpenID provider given by configuration, its emulator off."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from local.fc_emulator import FranceConnectEmulator

ELECTOR = "fc-demo-jean-pierre"  # matches the emulator identity "jean-pierre"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def provider_and_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FranceConnectEmulator, object]]:
    from local.stack import LocalStack

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(32)
    provider = FranceConnectEmulator(  # stands for any provider: FranceConnect's sandbox, a test IdP…
        client_id="another-client",
        client_secret=secret,
        redirect_uris=[f"{base}/api/fc/callback"],
        post_logout_redirect_uris=[f"{base}/api/fc/logout-return"],
    )
    provider.start()
    from reassort import wiring

    saved, clock = dict(os.environ), wiring.SystemClock
    for name, value in {
        "LOCAL_FC_ISSUER": provider.issuer,
        "LOCAL_FC_CLIENT_ID": "another-client",
        "LOCAL_FC_CLIENT_SECRET": secret,
    }.items():
        monkeypatch.setenv(name, value)
    stack = LocalStack(port=port).start()
    try:
        yield provider, stack
    finally:
        stack.stop()
        provider.stop()
        os.environ.clear()
        os.environ.update(saved)
        wiring.SystemClock = clock  # type: ignore[misc]
        wiring.reset()


def test_given_a_provider_in_the_environment_when_an_elector_uses_franceconnect_then_it_is_that_provider(
    provider_and_stack: tuple[FranceConnectEmulator, object],
) -> None:
    provider, stack = provider_and_stack
    base = stack.base_url  # type: ignore[attr-defined]
    assert stack._fc is None  # type: ignore[attr-defined]  # the emulator was not started
    browser = requests.Session()
    password = stack.passwords[ELECTOR]  # type: ignore[attr-defined]
    assert browser.post(f"{base}/local/login", json={"elector_id": ELECTOR, "password": password}).ok

    login = browser.get(f"{base}/api/fc/login", allow_redirects=False, timeout=10)
    assert login.status_code == 302
    location = login.headers["Location"]
    assert location.startswith(provider.issuer + "/authorize")
    assert parse_qs(urlsplit(location).query)["client_id"] == ["another-client"]

    callback = provider.authenticate(location, identity="jean-pierre")
    back = browser.get(callback, allow_redirects=False, timeout=10)
    assert back.status_code == 302 and back.headers["Location"].startswith(provider.issuer)  # its logout
    done = requests.get(back.headers["Location"], allow_redirects=False, timeout=10)
    result = browser.get(done.headers["Location"], allow_redirects=False, timeout=10)
    assert result.headers["Location"].startswith("/reassort/franceconnect/envoye")


def test_given_a_provider_issuer_without_its_client_secret_then_a_clear_configuration_error() -> None:
    from local.stack import OpenIdProvider

    with pytest.raises(ValueError, match="LOCAL_FC_CLIENT_SECRET"):
        OpenIdProvider.from_env({"LOCAL_FC_ISSUER": "https://idp.test/api/v2", "LOCAL_FC_CLIENT_ID": "x"})
    assert OpenIdProvider.from_env({}) is None
