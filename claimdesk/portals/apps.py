from django.apps import AppConfig


class PortalsConfig(AppConfig):
    name = "claimdesk.portals"
    label = "portals"
