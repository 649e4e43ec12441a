from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "claimdesk.messaging"
    label = "messaging"
