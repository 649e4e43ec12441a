from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "claimdesk.ops"
    label = "ops"
