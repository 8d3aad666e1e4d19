"""Routes of the catalog API, mounted under /v1/."""

from django.urls import path

from catalog import api

urlpatterns = [
    path("catalog/executors", api.ExecutorListView.as_view(), name="catalog-executor-list"),
    path(
        "catalog/executors/<str:executor_key>",
        api.ExecutorDetailView.as_view(),
        name="catalog-executor-detail",
    ),
    path(
        "catalog/executors/<str:executor_key>/validate",
        api.ExecutorValidateView.as_view(),
        name="catalog-executor-validate",
    ),
    path("catalog/triggers", api.TriggerListView.as_view(), name="catalog-trigger-list"),
    path(
        "catalog/triggers/<str:trigger_key>",
        api.TriggerDetailView.as_view(),
        name="catalog-trigger-detail",
    ),
    path("catalog/providers", api.ProviderListView.as_view(), name="catalog-provider-list"),
    path(
        "catalog/providers/<str:provider_key>",
        api.ProviderDetailView.as_view(),
        name="catalog-provider-detail",
    ),
    path(
        "catalog/providers/<str:provider_key>/executors",
        api.ProviderExecutorListView.as_view(),
        name="catalog-provider-executor-list",
    ),
    path("catalog/templates", api.TemplateListView.as_view(), name="catalog-template-list"),
    path(
        "catalog/templates/<str:template_key>",
        api.TemplateDetailView.as_view(),
        name="catalog-template-detail",
    ),
    path(
        "catalog/templates/<str:template_key>/validate",
        api.TemplateValidateView.as_view(),
        name="catalog-template-validate",
    ),
]
