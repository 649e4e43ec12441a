from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "claimdesk.intake"
    label = "intake"
