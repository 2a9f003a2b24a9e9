from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo district, at the top of the house: it may import every app, and each app's
    part of the demo is one function in demo/district.py."""

    name = "safecampus.demo"
    label = "demo"
