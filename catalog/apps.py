"""The catalog app: the read-only registry of what ships with Flowker (no models)."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"
