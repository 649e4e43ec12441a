"""The guarded HTTP transport of webhooks: one POST to a public address, nothing else.

An endpoint's URL must be http(s) to a host that resolves only to public
addresses (CLAIMDESK["WEBHOOKS_ALLOW_PRIVATE"] lifts that for tests and demos).
At each POST the host is resolved once, checked, and the connection goes to
that very address (Host header, TLS SNI and certificate check use the URL's
host name), so a name re-pointed after the check (DNS rebinding) cannot lead
a POST to a private address. No proxy from the environment is used and no
redirect is followed: a 3xx answer is a failed attempt.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import socket
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from claimdesk.core.errors import InvalidInput
from claimdesk.core.i18n import lazy_text as _

from .conf import option


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


def _checked_address(url: str) -> tuple[str, str]:
    """Return (url, IP address to connect to) if `url` is http(s) to a public address.

    The host is resolved once; the delivery connects to the address checked
    here, so a name that resolves elsewhere a moment later (DNS rebinding)
    cannot lead a POST to a private address. CLAIMDESK["WEBHOOKS_ALLOW_PRIVATE"]
    lifts the address check (tests, demos).
    """
    text = (url or "").strip()
    parts = urlsplit(text)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > 500 or port < 0:
        raise InvalidInput(
            "webhook_url_invalid",
            _("Enter a full http:// or https:// address of at most 500 characters."),
            {"field": "url"},
        )
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError) as exc:
        raise InvalidInput(
            "webhook_url_unresolvable",
            _("The host %(host)s cannot be found. Check the address.") % {"host": parts.hostname},
            {"field": "url"},
        ) from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or (
        not option("WEBHOOKS_ALLOW_PRIVATE") and not all(_address_allowed(a) for a in addresses)
    ):
        raise InvalidInput(
            "webhook_url_private",
            _("%(host)s is a loopback or private address; webhooks go only to public addresses.")
            % {"host": parts.hostname},
            {"field": "url"},
        )
    return text, addresses[0]


def check_url(url: str) -> str:
    """Return `url` if it is http(s) to a public address; refuse loopback and private ones.

    CLAIMDESK["WEBHOOKS_ALLOW_PRIVATE"] lifts the address check (tests, demos).
    """
    text = (url or "").strip()
    parts = urlsplit(text)
    if option("WEBHOOKS_ALLOW_PRIVATE") and parts.scheme in ("http", "https"):
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            pass
        else:
            if parts.hostname and len(text) <= 500:
                return text  # no need to resolve: any address is allowed
    return _checked_address(text)[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a fixed IP address, with the URL's host in the Host header."""

    def __init__(self, host: str, *, pinned_ip: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self.pinned_ip = pinned_ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_ip, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a fixed IP address; SNI and certificate check use the URL's host."""

    def __init__(
        self, host: str, *, pinned_ip: str, context: ssl.SSLContext, **kwargs: Any
    ) -> None:
        super().__init__(host, context=context, **kwargs)
        self.pinned_ip = pinned_ip
        self.pinned_context = context

    def connect(self) -> None:
        sock = socket.create_connection((self.pinned_ip, self.port), self.timeout)
        self.sock = self.pinned_context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, pinned_ip: str) -> None:
        super().__init__()
        self.pinned_ip = pinned_ip

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            functools.partial(_PinnedHTTPConnection, pinned_ip=self.pinned_ip),
            req,
        )


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, pinned_ip: str) -> None:
        super().__init__()
        self.pinned_ip = pinned_ip
        self.pinned_context = ssl.create_default_context()

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            functools.partial(
                _PinnedHTTPSConnection, pinned_ip=self.pinned_ip, context=self.pinned_context
            ),
            req,
        )


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Answer a redirect as a failed delivery instead of following it."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        raise urllib.error.HTTPError(
            req.full_url, code, f"redirect to {newurl[:150]} not followed", headers, fp
        )


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """POST `body` to `url`: at the address checked once, no proxy, no redirect followed."""
    try:
        _text, address = _checked_address(url)
    except InvalidInput as error:
        return None, str(error.message)[:255]
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _PinnedHTTPHandler(address),
        _PinnedHTTPSHandler(address),
        _RefuseRedirects(),
    )
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        reason = f"HTTP {exc.code}" + (f": {exc.msg}" if 300 <= exc.code < 400 else "")
        return int(exc.code), reason[:255]
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        return None, str(getattr(exc, "reason", exc))[:255]
