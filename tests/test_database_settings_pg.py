"""The PostgreSQL connection settings the benchmarks and the deployment guide rely on."""

from __future__ import annotations

import pytest
from django.db import connection

from claimdesk.claims.models import Claim
from tests.factories import SellerFactory

pytestmark = pytest.mark.django_db


def test_parameters_are_bound_on_the_server_and_nothing_is_kept_prepared(postgres) -> None:  # noqa: ARG001
    """Server-side binding and no JIT; prepared statements only when the deployment opts in."""
    assert connection.features.uses_server_side_binding
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
    shop_id = SellerFactory().shop_id
    for _ in range(6):
        list(Claim.objects.filter(shop_id=shop_id, is_open=True)[:5])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (0,)
