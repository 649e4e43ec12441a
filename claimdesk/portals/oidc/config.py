"""The identity provider claimdesk signs people in with: settings and discovery.

Everything is read from `settings.CLAIMDESK_OIDC` when a sign-in needs it. The
endpoints come from the issuer's discovery document (fetched on first use and
kept for an hour) unless the settings name them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.utils.translation import gettext

from claimdesk.accounts.models import Role

DISCOVERY_TTL_SECONDS = 3600


@dataclass(frozen=True)
class Portal:
    """A portal people sign into: the role it admits and its own pages."""

    key: str
    role: str
    login_url_name: str
    home_url_name: str


PORTALS = {
    "buyer": Portal("buyer", Role.BUYER, "buyer:login", "buyer:orders"),
    "seller": Portal("seller", Role.SELLER, "seller:login", "seller:home"),
    "operator": Portal("operator", Role.OPERATOR, "console:login", "console:home"),
}


@dataclass(frozen=True)
class Provider:
    """The resolved provider: where its endpoints are and how claimdesk is its client."""

    issuer: str
    client_id: str
    client_secret: str
    token_auth: str
    scopes: str
    subject_claim: str
    shop_claim: str
    sign_algo: str
    timeout: float
    clock_skew: int
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str


class ProviderUnavailable(Exception):
    """The discovery document could not be read (or does not describe the issuer)."""


_discovered: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def _conf() -> dict[str, Any]:
    return dict(getattr(settings, "CLAIMDESK_OIDC", {}))


def configured() -> bool:
    """Return whether an identity provider is set up (no network involved)."""
    conf = _conf()
    return bool(conf.get("ISSUER") and conf.get("CLIENT_ID"))


def enabled_for(portal: str) -> bool:
    """Return whether the portal offers sign-in with the identity provider."""
    if not configured() or portal not in PORTALS:
        return False
    names = {name.strip() for name in str(_conf().get("PORTALS", "")).split(",")}
    return portal in names


def display_name() -> str:
    """Return the provider's name for buttons and messages, in the active language."""
    return str(_conf().get("PROVIDER_NAME") or "") or gettext("your marketplace account")


def _discover(issuer: str, timeout: float) -> dict[str, Any]:
    now = time.monotonic()
    with _lock:
        cached = _discovered.get(issuer)
        if cached and now - cached[0] < DISCOVERY_TTL_SECONDS:
            return cached[1]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"discovery at {url} failed: {exc}") from exc
    if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != issuer.rstrip(
        "/"
    ):
        raise ProviderUnavailable(f"discovery at {url} describes another issuer")
    with _lock:
        _discovered[issuer] = (now, document)
    return document


def provider() -> Provider:
    """Return the configured provider, its endpoints discovered if not set.

    Raises ProviderUnavailable when the discovery document cannot be read.
    """
    conf = _conf()
    issuer = str(conf["ISSUER"])
    timeout = float(conf.get("TIMEOUT_SECONDS", 10))
    explicit = {
        "authorization_endpoint": conf.get("AUTHORIZATION_ENDPOINT", ""),
        "token_endpoint": conf.get("TOKEN_ENDPOINT", ""),
        "userinfo_endpoint": conf.get("USERINFO_ENDPOINT", ""),
        "jwks_uri": conf.get("JWKS_URI", ""),
        "end_session_endpoint": conf.get("END_SESSION_ENDPOINT", ""),
    }
    needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    document: dict[str, Any] = {}
    if not all(explicit[name] for name in needed):
        document = _discover(issuer, timeout)
    endpoints = {name: str(value or document.get(name) or "") for name, value in explicit.items()}
    if not all(endpoints[name] for name in needed):
        raise ProviderUnavailable("the provider names no authorization, token or JWKS endpoint")
    return Provider(
        issuer=str(document.get("issuer") or issuer),
        client_id=str(conf["CLIENT_ID"]),
        client_secret=str(conf.get("CLIENT_SECRET", "")),
        token_auth=str(conf.get("TOKEN_AUTH", "basic")),
        scopes=str(conf.get("SCOPES") or "openid"),
        subject_claim=str(conf.get("SUBJECT_CLAIM") or "sub"),
        shop_claim=str(conf.get("SHOP_CLAIM") or ""),
        sign_algo=str(conf.get("SIGN_ALGO") or "RS256"),
        timeout=timeout,
        clock_skew=int(conf.get("CLOCK_SKEW_SECONDS", 60)),
        **endpoints,
    )


def library_settings(provider: Provider, portal: Portal) -> dict[str, Any]:
    """Return mozilla-django-oidc's settings for signing into `portal`."""
    scopes = provider.scopes.split()
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    return {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": provider.authorization_endpoint,
        "OIDC_OP_TOKEN_ENDPOINT": provider.token_endpoint,
        "OIDC_OP_USER_ENDPOINT": provider.userinfo_endpoint,
        "OIDC_OP_JWKS_ENDPOINT": provider.jwks_uri,
        "OIDC_RP_CLIENT_ID": provider.client_id,
        "OIDC_RP_CLIENT_SECRET": provider.client_secret,
        "OIDC_RP_SIGN_ALGO": provider.sign_algo,
        "OIDC_RP_IDP_SIGN_KEY": None,
        "OIDC_RP_SCOPES": " ".join(scopes),
        "OIDC_TOKEN_USE_BASIC_AUTH": provider.token_auth != "post",  # noqa: S105
        "OIDC_TIMEOUT": provider.timeout,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_USE_NONCE": True,
        "OIDC_STORE_ID_TOKEN": True,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_CREATE_USER": False,
        "OIDC_AUTHENTICATION_CALLBACK_URL": f"oidc:{portal.key}_callback",
        "LOGIN_REDIRECT_URL": portal.home_url_name,
        "LOGIN_REDIRECT_URL_FAILURE": portal.login_url_name,
    }
