from django.urls import path

from flowker.audit import api

urlpatterns = [
    path("audit-events", api.AuditEventListView.as_view(), name="audit-event-list"),
    path("audit-events/<str:id>", api.AuditEventDetailView.as_view(), name="audit-event-detail"),
    path(
        "audit-events/<str:id>/verify",
        api.AuditEventVerifyView.as_view(),
        name="audit-event-verify",
    ),
]
