from django.urls import path

from executors import api

urlpatterns = [
    path("executors", api.ExecutorConfigListView.as_view()),
    path("executors/<str:id>", api.ExecutorConfigDetailView.as_view()),
    path("executors/<str:id>/test", api.ExecutorConfigTestView.as_view()),
    path("executors/<str:id>/activate", api.ExecutorConfigActivateView.as_view()),
    path("executors/<str:id>/disable", api.ExecutorConfigDisableView.as_view()),
    path("executors/<str:id>/enable", api.ExecutorConfigEnableView.as_view()),
]
