"""Routes: operational endpoints at the root, the business API under /v1, the admin console."""

import threading
from typing import Any, ClassVar

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from django_prometheus import exports
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from flowker import health, index
from flowker.api.renderers import JSONRenderer

v1 = [
    path("", include("flowker.audit.urls")),
    path("", include("catalog.urls")),
    path("", include("providers.urls")),
    path("", include("executors.urls")),
    path("", include("workflows.urls")),
    path("", include("executions.urls")),
    path("", include("webhooks.urls")),
]


class OpenAPIView(SpectacularAPIView):
    """The document only changes with the code, and building it walks every view on a public
    route: each process builds it once, on the first request."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    document: ClassVar[dict[str, Any] | None] = None
    _building = threading.Lock()

    def _get_schema_response(self, request: Any) -> Response:
        with self._building:
            if OpenAPIView.document is None:
                generator = self.generator_class(urlconf=self.urlconf, patterns=self.patterns)
                OpenAPIView.document = generator.get_schema(
                    request=request, public=self.serve_public
                )
        return Response(
            data=OpenAPIView.document,
            headers={"Content-Disposition": 'inline; filename="openapi.json"'},
        )


class SwaggerView(SpectacularSwaggerView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


urlpatterns = [
    path("", index.index, name="index"),
    path("health", health.HealthView.as_view(), name="health"),
    path("readyz", health.ReadyzView.as_view(), name="readyz"),
    path("version", health.VersionView.as_view(), name="version"),
    path("metrics", exports.ExportToDjangoView, name="metrics"),
    path(
        "v1/openapi.json",
        OpenAPIView.as_view(renderer_classes=[JSONRenderer]),
        name="openapi",
    ),
    path("swagger/", SwaggerView.as_view(url_name="openapi"), name="swagger"),
    path("swagger", RedirectView.as_view(url="/swagger/")),
    path("admin", RedirectView.as_view(url="/admin/")),
    path("v1/", include(v1)),
    path("admin/", admin.site.urls),
]

handler400 = "flowker.middleware.bad_request"
handler403 = "flowker.middleware.forbidden"
handler404 = "flowker.middleware.not_found"
handler500 = "flowker.middleware.server_error"
