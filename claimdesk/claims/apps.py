from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "claimdesk.claims"
    label = "claims"
