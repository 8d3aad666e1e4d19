"""Flowker: workflow orchestration for payment and compliance decisions."""

from flowker.celery import app as celery_app

__all__ = ["celery_app"]
