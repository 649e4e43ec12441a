from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "claimdesk.core"
    label = "core"
