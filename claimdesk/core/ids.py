"""Order and cart numbers: short, increasing, unique across servers."""

from django.db import transaction

from .models import Counter

STARTS = {"order_no": 400_000_000, "cart_no": 150_000_000}


def next_number(name: str, count: int = 1) -> int:
    """Reserve `count` numbers of sequence `name`; return the first."""
    with transaction.atomic():
        counter = Counter.objects.select_for_update().filter(name=name).first()
        if counter is None:
            counter, _ = Counter.objects.get_or_create(
                name=name, defaults={"value": STARTS.get(name, 1)}
            )
            counter = Counter.objects.select_for_update().get(name=name)
        first = counter.value + 1
        counter.value += count
        counter.save(update_fields=["value"])
    return first
