"""Platform-wide bookkeeping tables."""

from django.db import models


class Counter(models.Model):
    """A named number sequence (order and cart numbers) shared by every server."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Lease(models.Model):
    """A lease that lets one worker at a time run a periodic job."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=64, blank=True)
    until = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.until}"
