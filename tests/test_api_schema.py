"""schemathesis against the OpenAPI document: no 5xx, every answer matches its schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from claimdesk.accounts.tokens import api_token_create
from tests.factories import SellerFactory, order_in


@pytest.fixture
def api_schema(db: None) -> Iterator[Any]:
    """The schema, called in-process through WSGI inside the test's transaction."""
    # As Django's test client does: a finished request must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db: None, buyer: Any, settings: Any) -> dict[str, str]:
    """A write token of a shop with a few orders, so that some generated calls hit real rows."""
    settings.CLAIMDESK = {
        **settings.CLAIMDESK,
        "WEBHOOKS_ALLOW_PRIVATE": True,  # no DNS look-ups for generated hosts
        "API_RATE_LIMIT_PER_MINUTE": 100_000,
    }
    seller = SellerFactory()
    for status in ("new", "confirmed", "shipped"):
        order_in(status, seller=seller, buyer=buyer)
    return {
        "Authorization": f"Bearer {api_token_create(actor=seller, name='st', can_write=True)[1]}"
    }


SETTINGS = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_api_conforms_to_its_openapi_document(api_schema: Any, bearer: dict[str, str]) -> None:
    """Generated calls never get a 5xx and every answer matches the documented schema.

    Each operation gets a few generated examples (bounded, so the suite stays fast).
    """
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @SETTINGS
        def check(case: Any) -> None:
            case.call_and_validate(
                headers=bearer, checks=[not_a_server_error, response_schema_conformance]
            )

        check()
