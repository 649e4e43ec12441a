from django.apps import AppConfig


class PortalsConfig(AppConfig):
    name = "claimdesk.portals"
    label = "portals"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .common import keep_chosen_language

        user_logged_in.connect(keep_chosen_language, dispatch_uid="portals.keep_chosen_language")
