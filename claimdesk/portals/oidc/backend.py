"""The authentication backend: the provider's ID token checked, the person matched."""

from __future__ import annotations

from typing import Any

import jwt
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from claimdesk.accounts.models import Role, User
from claimdesk.accounts.signin import user_for_sign_in
from claimdesk.core.errors import InvalidInput
from claimdesk.core.i18n import lazy_text as _

from .config import PORTALS, Portal, Provider, display_name, library_settings, provider

#: The attribute the callback view sets on the request: the key of the portal signed into.
PORTAL_ATTRIBUTE = "claimdesk_oidc_portal"


def token_invalid() -> InvalidInput:
    return InvalidInput(
        "signin_token_invalid",
        _(
            "The answer from %(provider)s could not be verified, so you were not signed in. Start the sign-in again; if this keeps happening, tell the marketplace's support."
        )
        % {"provider": display_name()},
    )


def token_expired() -> InvalidInput:
    return InvalidInput(
        "signin_token_expired",
        _(
            "The answer from %(provider)s had already expired, so you were not signed in. Start the sign-in again; if this keeps happening, the clocks of the two servers may differ."
        )
        % {"provider": display_name()},
    )


class PortalOIDCBackend(OIDCAuthenticationBackend):
    """Sign a person into the portal whose callback is running, by their marketplace id.

    Only a callback of a portal (which sets PORTAL_ATTRIBUTE on the request) gets
    past the first line: password sign-ins go to ModelBackend.
    """

    portal: Portal
    provider: Provider

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Nothing is read here: every sign-in (password ones too) builds the backend.
        self.UserModel = get_user_model()
        self.settings: dict[str, Any] = {}

    def get_settings(self, attr: str, *args: Any) -> Any:
        if attr in self.settings:
            return self.settings[attr]
        return import_from_settings(attr, *args)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        portal_key = getattr(request, PORTAL_ATTRIBUTE, None) if request is not None else None
        if portal_key not in PORTALS:
            return None
        self.portal = PORTALS[portal_key]
        self.provider = provider()
        self.settings = library_settings(self.provider, self.portal)
        self.OIDC_OP_TOKEN_ENDPOINT = self.provider.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = self.provider.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = self.provider.jwks_uri
        self.OIDC_RP_CLIENT_ID = self.provider.client_id
        self.OIDC_RP_CLIENT_SECRET = self.provider.client_secret
        self.OIDC_RP_SIGN_ALGO = self.provider.sign_algo
        self.OIDC_RP_IDP_SIGN_KEY = None
        user: User | None = super().authenticate(request, **kwargs)
        return user

    def get_payload_data(self, token: str | bytes, key: Any) -> dict[str, Any]:
        """Return the ID token's claims once its signature, issuer, audience and time hold."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise token_invalid() from exc
        if header.get("alg") != self.provider.sign_algo:
            raise token_invalid()
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[self.provider.sign_algo],
                audience=self.provider.client_id,
                issuer=self.provider.issuer,
                leeway=self.provider.clock_skew,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise token_expired() from exc
        except jwt.PyJWTError as exc:
            raise token_invalid() from exc
        audience = payload["aud"]
        if isinstance(audience, list) and len(audience) > 1:
            # A token for several clients must say it was issued to this one.
            if payload.get("azp") != self.provider.client_id:
                raise token_invalid()
        return payload

    def _wanted_claims(self) -> list[str]:
        wanted = [self.provider.subject_claim]
        if self.portal.role == Role.SELLER and self.provider.shop_claim:
            wanted.append(self.provider.shop_claim)
        return wanted

    def get_userinfo(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Return the ID token's claims, completed from the userinfo endpoint if needed."""
        claims = dict(payload)
        if all(name in claims for name in self._wanted_claims()):
            return claims
        if not self.provider.userinfo_endpoint:
            return claims
        info = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(info, dict) or info.get("sub") != payload.get("sub"):
            raise token_invalid()
        return {**info, **claims}

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        """Return the user the claims name; never create one (refusals raise)."""
        claims = self.get_userinfo(access_token, id_token, payload)
        subject = claims.get(self.provider.subject_claim)
        if not isinstance(subject, str | int) or isinstance(subject, bool) or str(subject) == "":
            raise InvalidInput(
                "signin_no_subject",
                _(
                    "%(provider)s did not say who you are there (the claim %(claim)s is missing), so you were not signed in. Tell the marketplace's support; meanwhile log in with your login and password."
                )
                % {"provider": display_name(), "claim": self.provider.subject_claim},
            )
        shop: str | None = None
        if self.portal.role == Role.SELLER and self.provider.shop_claim:
            shop = str(claims.get(self.provider.shop_claim) or "")
        return user_for_sign_in(
            role=self.portal.role, external_id=str(subject), shop_external_id=shop
        )

    def get_user(self, user_id: Any) -> User | None:
        """Return the signed-in user while their login stays active (as for passwords)."""
        user: User | None = ModelBackend.get_user(self, user_id)
        return user
