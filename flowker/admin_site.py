"""The operators' console: Django's admin plus pages that are not model lists (catalog,
dashboards). Apps add such pages with `register_page` from their admin.py.

Every page and every custom admin URL states the permission it needs (`guarded`): a page that
changes state needs `flowker.run_actions`; a page that only reads names a view permission, or
None for any console user, and then answers GET and HEAD only."""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import path, reverse
from django.views.decorators.http import require_safe


@dataclass(frozen=True)
class ConsolePage:
    route: str  # relative to /admin/, e.g. "catalog/"
    view: Callable[..., Any]
    name: str  # URL name inside the admin namespace
    section: str  # heading on the index page
    label: str  # link text on the index page
    permission: str | None  # see `guarded`
    listed: bool = True  # detail pages are reachable but not linked from the index


_pages: list[ConsolePage] = []
# Callables (request → context or None) whose figures make the console's home a dashboard.
_home_parts: list[Callable[[HttpRequest], dict[str, Any] | None]] = []


def guarded(view: Callable[..., Any], permission: str | None) -> Callable[..., Any]:
    """`view` refused (403) to users without `permission`; with None, a read-only view for any
    console user. The permission is kept on the view (`required_permission`) for the tests that
    check every console URL declares one."""
    if permission is None:
        checked = require_safe(view)
    else:

        @functools.wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

    checked.required_permission = permission  # type: ignore[attr-defined]
    return checked


def register_page(page: ConsolePage) -> None:
    _pages.append(page)


def register_home(part: Callable[[HttpRequest], dict[str, Any] | None]) -> None:
    _home_parts.append(part)


def home_context(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for part in _home_parts:
        context.update(part(request) or {})
    return context


class FlowkerAdminSite(admin.AdminSite):
    site_header = "Flowker console"
    site_title = "Flowker"
    index_title = "Operations"
    # No public site behind the console: Django's "View site" link would lead to a 404.
    site_url = None

    def get_urls(self) -> list[Any]:
        extra = [
            path(page.route, self.admin_view(guarded(page.view, page.permission)), name=page.name)
            for page in _pages
        ]
        return extra + super().get_urls()

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().index(request, {**home_context(request), **(extra_context or {})})

    def get_app_list(self, request: Any, app_label: str | None = None) -> list[dict[str, Any]]:
        """The model apps, then the console's own pages as sections of their own, so the index
        and the sidebar of every page list them (each only to users who may open it)."""
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        sections: dict[str, list[dict[str, Any]]] = {}
        for page in _pages:
            if page.listed and (page.permission is None or request.user.has_perm(page.permission)):
                url = reverse(f"{self.name}:{page.name}")
                entry = {"name": page.label, "object_name": page.name, "admin_url": url}
                sections.setdefault(page.section, []).append({**entry, "view_only": True})
        return apps + [
            {
                "name": section,
                "app_label": section.lower(),
                "app_url": entries[0]["admin_url"],
                "has_module_perms": True,
                "models": entries,
            }
            for section, entries in sections.items()
        ]


class FlowkerAdminConfig(AdminConfig):
    default_site = "flowker.admin_site.FlowkerAdminSite"
