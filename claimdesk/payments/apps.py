from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "claimdesk.payments"
    label = "payments"
