from django.urls import path

from workflows import api

urlpatterns = [
    path("workflows", api.WorkflowListView.as_view()),
    path("workflows/from-template", api.WorkflowFromTemplateView.as_view()),
    path("workflows/<str:id>", api.WorkflowDetailView.as_view()),
    path("workflows/<str:id>/clone", api.WorkflowCloneView.as_view()),
    path("workflows/<str:id>/activate", api.WorkflowActivateView.as_view()),
    path("workflows/<str:id>/deactivate", api.WorkflowDeactivateView.as_view()),
    path("workflows/<str:id>/draft", api.WorkflowDraftView.as_view()),
]
