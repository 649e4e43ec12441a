"""manage.py platform_token create NAME | list | revoke ID: the marketplace's API tokens."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from claimdesk.accounts.models import ApiToken, ApiTokenKind, User
from claimdesk.accounts.tokens import platform_token_create, platform_token_revoke, platform_user
from claimdesk.core.errors import DomainError


class Command(BaseCommand):
    help = "Create, list or revoke platform tokens (scope `platform`: the /api/v1/platform routes)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it (shown once)")
        create.add_argument("name")
        create.add_argument(
            "--operator",
            default="",
            help="the operator login the token acts as (default: the built-in 'platform' account)",
        )
        sub.add_parser("list", help="list the platform tokens")
        revoke = sub.add_parser("revoke", help="revoke a token by its id")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "create":
                actor = self._operator(options["operator"])
                token, raw = platform_token_create(actor=actor, name=options["name"])
                self.stdout.write(raw)
                self.stderr.write(f"token {token.pk} ({token.name}) acts as {actor.username}")
            elif action == "list":
                for token in ApiToken.objects.filter(kind=ApiTokenKind.PLATFORM).order_by("pk"):
                    state = "revoked" if token.revoked_at else "active"
                    self.stdout.write(f"{token.pk}\t{token.prefix}…\t{state}\t{token.name}")
            else:
                platform_token_revoke(actor=platform_user(), token_id=options["token_id"])
                self.stdout.write(f"revoked {options['token_id']}")
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc

    def _operator(self, username: str) -> User:
        if not username:
            return platform_user()
        user = User.objects.filter(username=username, role="operator", is_active=True).first()
        if user is None:
            raise CommandError(f"no active operator login {username!r}")
        return user
