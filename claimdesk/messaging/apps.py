from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "claimdesk.messaging"
    label = "messaging"

    def ready(self) -> None:
        from claimdesk.orders.models import Order, OrderEvent
        from claimdesk.orders.signals import order_delayed, order_events_recorded, trade_completed

        from . import receivers

        order_delayed.connect(
            receivers.mail_shipping_delayed, sender=Order, dispatch_uid="messaging.delayed"
        )
        trade_completed.connect(
            receivers.mail_trade_completed, sender=Order, dispatch_uid="messaging.completed"
        )
        order_events_recorded.connect(
            receivers.order_events_to_webhooks, sender=OrderEvent, dispatch_uid="messaging.events"
        )
