from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "claimdesk.claims"
    label = "claims"

    def ready(self) -> None:
        from claimdesk.payments import tasks as former

        from .refunds import process_refund

        # Task rows queued before the refund task moved here name the old path.
        former.process_refund = process_refund
