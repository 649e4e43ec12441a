from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "claimdesk.accounts"
    label = "accounts"
