from django.urls import path

from providers import api

urlpatterns = [
    path("provider-configurations", api.ProviderConfigListView.as_view()),
    path("provider-configurations/<str:id>", api.ProviderConfigDetailView.as_view()),
    path("provider-configurations/<str:id>/enable", api.ProviderConfigEnableView.as_view()),
    path("provider-configurations/<str:id>/disable", api.ProviderConfigDisableView.as_view()),
    path("provider-configurations/<str:id>/test", api.ProviderConfigTestView.as_view()),
]
