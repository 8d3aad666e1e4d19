"""The operators' console: Django's admin plus pages that are not model lists (catalog,
dashboards). Apps add such pages with `register_page` from their admin.py."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.urls import path


@dataclass(frozen=True)
class ConsolePage:
    route: str  # relative to /admin/, e.g. "catalog/"
    view: Callable[..., Any]
    name: str  # URL name inside the admin namespace
    section: str  # heading on the index page
    label: str  # link text on the index page
    listed: bool = True  # detail pages are reachable but not linked from the index


_pages: list[ConsolePage] = []


def register_page(page: ConsolePage) -> None:
    _pages.append(page)


class FlowkerAdminSite(admin.AdminSite):
    site_header = "Flowker console"
    site_title = "Flowker"
    index_title = "Operations"

    def get_urls(self) -> list[Any]:
        extra = [path(page.route, self.admin_view(page.view), name=page.name) for page in _pages]
        return extra + super().get_urls()

    def each_context(self, request: Any) -> dict[str, Any]:
        context = super().each_context(request)
        sections: dict[str, list[ConsolePage]] = {}
        for page in _pages:
            if page.listed:
                sections.setdefault(page.section, []).append(page)
        context["console_sections"] = sections
        return context


class FlowkerAdminConfig(AdminConfig):
    default_site = "flowker.admin_site.FlowkerAdminSite"
