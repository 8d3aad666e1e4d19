from django.urls import path

from executions import api

urlpatterns = [
    path("workflows/<str:workflow_id>/executions", api.ExecutionStartView.as_view()),
    path("executions", api.ExecutionListView.as_view()),
    path("executions/<str:id>", api.ExecutionDetailView.as_view()),
    path("executions/<str:id>/results", api.ExecutionResultsView.as_view()),
    path("executions/<str:id>/cancel", api.ExecutionCancelView.as_view()),
    path("executions/<str:id>/retry", api.ExecutionRetryView.as_view()),
    path("dashboards/workflows/summary", api.WorkflowSummaryView.as_view()),
    path("dashboards/workflows/performance", api.WorkflowPerformanceView.as_view()),
    path("dashboards/executions", api.ExecutionCountsView.as_view()),
    path("dashboards/executions/timeseries", api.ExecutionTimeseriesView.as_view()),
]
