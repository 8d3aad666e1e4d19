"""API-key authentication for /v1: `X-API-Key`, looked up by prefix, compared in constant time."""

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, permissions

from flowker.apikeys import selectors as apikey_selectors

API_KEY_HEADER = "HTTP_X_API_KEY"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[None, Any] | None:
        raw = request.META.get(API_KEY_HEADER)
        if not raw:
            return None
        api_key = apikey_selectors.api_key_authenticate(raw_key=raw)
        if api_key is None:
            return None
        return (None, api_key)

    def authenticate_header(self, request: Any) -> str:
        # Makes DRF answer 401 (not 403) when the key is missing.
        return "X-API-Key"


class HasApiKey(permissions.BasePermission):
    """Every /v1 route needs a valid key unless FLOWKER_AUTH_DISABLED=true."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if settings.FLOWKER_AUTH_DISABLED:
            return True
        return request.auth is not None


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "flowker.api.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}
