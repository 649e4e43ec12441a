from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "claimdesk.demo"
    label = "demo"
