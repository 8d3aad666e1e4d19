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
from django.urls import path
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


class FlowkerAdminSite(admin.AdminSite):
    site_header = "Flowker console"
    site_title = "Flowker"
    index_title = "Operations"

    def get_urls(self) -> list[Any]:
        extra = [
            path(page.route, self.admin_view(guarded(page.view, page.permission)), name=page.name)
            for page in _pages
        ]
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
