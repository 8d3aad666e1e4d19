"""Test-only routes that exercise the shared API machinery (validation, errors)."""

from django.db import OperationalError
from django.urls import include, path
from rest_framework import serializers
from rest_framework.response import Response

from flowker.api.serializers import FlowkerSerializer, MetadataField
from flowker.api.views import FlowkerAPIView, json_body
from flowker.urls import urlpatterns as project_urlpatterns


class PositionSerializer(FlowkerSerializer):
    x = serializers.DecimalField(max_digits=20, decimal_places=6)
    y = serializers.DecimalField(max_digits=20, decimal_places=6)


class ThingSerializer(FlowkerSerializer):
    error_codes = {"name": {"required": "FLK-0110", "max_length": "FLK-0111"}}

    name = serializers.CharField(max_length=10)
    description = serializers.CharField(max_length=20, required=False)
    count = serializers.IntegerField(required=False, min_value=0)
    position = PositionSerializer(required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    metadata = MetadataField(required=False)
    amount = serializers.DecimalField(max_digits=40, decimal_places=10, required=False)


class ThingView(FlowkerAPIView):
    def post(self, request):
        serializer = ThingSerializer(data=json_body(request))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        return Response({"echo": request.data, "fields": sorted(data)}, status=201)


class ThingDetailView(FlowkerAPIView):
    def get(self, request, id):
        return Response({"id": str(id)})


class BoomView(FlowkerAPIView):
    def get(self, request):
        raise RuntimeError("secret-internal-detail")


class DatabaseDownView(FlowkerAPIView):
    def get(self, request):
        raise OperationalError("connection refused")


test_v1 = [
    path("things", ThingView.as_view()),
    path("things/<str:id>", ThingDetailView.as_view()),
    path("boom", BoomView.as_view()),
    path("db-down", DatabaseDownView.as_view()),
]

urlpatterns = [path("v1/test/", include(test_v1)), *project_urlpatterns]

handler400 = "flowker.middleware.bad_request"
handler403 = "flowker.middleware.forbidden"
handler404 = "flowker.middleware.not_found"
handler500 = "flowker.middleware.server_error"
