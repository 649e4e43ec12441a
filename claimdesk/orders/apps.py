from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "claimdesk.orders"
    label = "orders"
