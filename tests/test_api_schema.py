"""schemathesis against the OpenAPI document: no 5xx, every answer matches its schema."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from claimdesk.accounts.tokens import api_token_create
from tests.factories import SellerFactory, order_in


@pytest.fixture
def api_schema(db: None) -> Iterator[Any]:
    """The schema, called in-process through WSGI inside the test's transaction."""
    # As Django's test client does: a finished request must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
        # The document says in words that text never holds NUL (refused with 422).
        schema.config.generation.update(allow_x00=False)
        yield schema
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


_KEYS = itertools.count()


def _within_documented_rules(case: Any) -> Any:
    """Keep a generated case inside the rules between fields the document states in words.

    JSON Schema cannot say that `date_to` is not before `date_from` nor more than
    90 days after it: a generated period is made one day long. Nor that an
    Idempotency-Key is new for each new request: each case gets its own.
    """
    query = case.query or {}
    if query.get("date_from"):
        query["date_to"] = query["date_from"]
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"key-{next(_KEYS)}"
    return case


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi_document(
    api_schema: Any, bearer: dict[str, str], mode: GenerationMode
) -> None:
    """Generated calls pass every check schemathesis has, with the conformance checks.

    No 5xx; every status, content type, header and body is documented; a request
    the document allows is not refused as bad input, one it forbids is; a method a
    path lacks answers 405. Each operation gets a few generated examples (bounded,
    so the suite stays fast).
    """
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:
        strategy = operation.as_strategy(generation_mode=mode)
        if mode == GenerationMode.POSITIVE:
            strategy = strategy.map(_within_documented_rules)

        @given(case=strategy)
        @SETTINGS
        def check(case: Any) -> None:
            case.call_and_validate(headers=bearer)

        check()
