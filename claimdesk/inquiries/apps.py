from django.apps import AppConfig


class InquiriesConfig(AppConfig):
    name = "claimdesk.inquiries"
    label = "inquiries"
