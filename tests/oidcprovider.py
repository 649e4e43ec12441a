"""A real OpenID Connect provider for the sign-in tests: tests/oidc/provider.mjs under node.

The `oidc_provider` fixture starts it once per test session on a free loopback
port, with claimdesk (and a second client, "storefront") registered for the live
server's callbacks; the `oidc` fixture points claimdesk's settings at it for one
test. Test modules import both fixture functions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from tests.conftest import need

HERE = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "claimdesk"
CLIENT_SECRET = "claimdesk-test-secret"
PORTAL_PATHS = {"buyer": "my", "seller": "seller", "operator": "console"}


@dataclass
class ProviderProcess:
    issuer: str
    process: subprocess.Popen[str]

    def add_account(self, sub: str, **claims: Any) -> None:
        """Give the provider's account `sub` more claims (shop_id, person_id)."""
        response = requests.post(f"{self.issuer}/_test/accounts", json={sub: claims}, timeout=10)
        response.raise_for_status()

    def tamper_next_id_token(self, **change: Any) -> None:
        """Make the next ID token one for another audience (aud=) or expired (exp_offset=)."""
        response = requests.post(f"{self.issuer}/_test/next-id-token", json=change, timeout=10)
        response.raise_for_status()


@pytest.fixture(scope="session", name="oidc_provider")
def oidc_provider_fixture(live_server: Any) -> Iterator[ProviderProcess]:
    node = shutil.which("node")
    version = (
        subprocess.run(  # noqa: S603 - fixed arguments
            [node, "--version"], capture_output=True, text=True, check=False
        ).stdout
        if node
        else ""
    )
    major = re.match(r"v(\d+)\.", version)
    need(
        major is not None and int(major.group(1)) >= 20,
        f"needs node 20 or later for the OpenID Connect provider (found {version.strip() or 'none'})",
    )
    need(
        (HERE / "node_modules" / "oidc-provider").is_dir(),
        "needs the test provider's packages: npm ci --prefix tests/oidc",
    )
    base = live_server.url
    clients = [
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"{base}/{path}/oidc/callback/" for path in PORTAL_PATHS.values()],
            "post_logout_redirect_uris": [
                f"{base}/{path}/login/" for path in PORTAL_PATHS.values()
            ],
        },
        {
            "client_id": "storefront",
            "client_secret": "storefront-test-secret",
            "redirect_uris": ["http://127.0.0.1:9/callback"],
        },
    ]
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [str(node), str(HERE / "provider.mjs")],
        env={**os.environ, "OIDC_CLIENTS": json.dumps(clients)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        issuer = ""
        for line in process.stdout:  # ends when the process does
            if line.startswith("issuer "):
                issuer = line.split()[1]
                break
        assert issuer, f"the provider did not start (exit code {process.poll()})"
        yield ProviderProcess(issuer=issuer, process=process)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(name="oidc")
def oidc_fixture(oidc_provider: ProviderProcess, settings: Any) -> ProviderProcess:
    """Point claimdesk at the test provider for this test."""
    settings.CLAIMDESK_OIDC = {
        **settings.CLAIMDESK_OIDC,
        "ISSUER": oidc_provider.issuer,
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "PROVIDER_NAME": "Test ID",
        "SCOPES": "openid",
        "SUBJECT_CLAIM": "sub",
        "SHOP_CLAIM": "",
        "PORTALS": "buyer,seller,operator",
    }
    return oidc_provider


def sign_in_over_http(
    base_url: str,
    portal: str,
    login: str,
    *,
    session: requests.Session | None = None,
    next_url: str = "",
    language: str = "ja",
) -> tuple[requests.Session, requests.Response]:
    """Run the authorization-code flow as a browser without scripts would.

    Returns the session (claimdesk's and the provider's cookies) and claimdesk's
    last answer: the portal's page, or the refusal page.
    """
    session = session or requests.Session()
    session.headers["Accept-Language"] = language
    start = f"{base_url}/{PORTAL_PATHS[portal]}/oidc/start/"
    form = session.get(start, params={"next": next_url} if next_url else None, timeout=10)
    form.raise_for_status()
    match = re.search(r'<form method="post" action="([^"]+)"', form.text)
    assert match, f"no sign-in form at the provider: {form.url}\n{form.text[:500]}"
    answer = session.post(urljoin(form.url, match.group(1)), data={"login": login}, timeout=10)
    return session, answer
