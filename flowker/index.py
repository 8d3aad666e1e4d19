"""The root URL: browsers go to the operators' console, API clients get links to the docs."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse

from flowker.api.errors import error_response

LINKS = {
    "docs": "/swagger/",
    "openapi": "/v1/openapi.json",
    "health": "/health",
    "console": "/admin/",
}


def index(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        message = f"Cannot {request.method} /"
        return error_response("FLK-0004", message, 405, headers={"Allow": "GET, HEAD"})
    if "text/html" in request.headers.get("Accept", ""):
        return HttpResponseRedirect("/admin/")
    return JsonResponse(
        {
            "name": "Flowker",
            "description": "Workflow orchestration for payment and compliance decisions; the API "
            "is under /v1 and needs an X-API-Key header.",
            "links": LINKS,
        }
    )
