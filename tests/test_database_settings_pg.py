"""The PostgreSQL connection settings the benchmarks and the deployment guide rely on."""

from __future__ import annotations

import pytest
from django.db import connection

from claimdesk.claims.models import Claim
from tests.factories import SellerFactory

pytestmark = pytest.mark.django_db


def test_statements_are_bound_on_the_server_and_planned_for_their_values(postgres) -> None:  # noqa: ARG001
    """Server-side binding, kept prepared from the fifth run, never a generic plan."""
    assert connection.features.uses_server_side_binding
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_custom_plan",)
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
    shop_id = SellerFactory().shop_id
    for _ in range(6):
        list(Claim.objects.filter(shop_id=shop_id, is_open=True)[:5])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "claims_claim"%"claims_claim"."shop_id" = $1%'],
        )
        assert cursor.fetchone()[0] >= 1
