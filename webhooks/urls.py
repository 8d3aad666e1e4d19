from django.urls import re_path

from webhooks import api

urlpatterns = [
    re_path(r"^webhooks/(?P<path>.+)$", api.WebhookView.as_view()),
]
