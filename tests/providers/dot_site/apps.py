"""App config: counts what the provider issues, from the moment the app registry is ready."""

from __future__ import annotations

from django.apps import AppConfig


class DotSiteConfig(AppConfig):  # type: ignore[misc]  # Django has no stubs here
    name = "dot_site"

    def ready(self) -> None:
        from . import views

        views.connect_counters()
