"""First start: an admin superuser with a random password and one API key, printed once; on
every start, the console's groups completed with the permissions of models added since."""

import secrets
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from flowker.actors import Actor
from flowker.apikeys.models import ApiKey
from flowker.apikeys.services import api_key_create
from flowker.permissions import console_groups_sync


class Command(BaseCommand):
    help = "Create the first admin user and API key if there are none (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        console_groups_sync(apps=apps)
        user_model = get_user_model()
        lines = []
        if not user_model.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(18)
            user_model.objects.create_superuser("admin", email="", password=password)
            lines.append(f"  admin console: user 'admin', password {password}")
        if not ApiKey.objects.exists():
            _, raw = api_key_create(name="bootstrap", actor=Actor.system())
            lines.append(f"  API key 'bootstrap' (send as X-API-Key): {raw}")
        if lines:
            self.stdout.write("Flowker first start — these are shown once, keep them:")
            self.stdout.write("\n".join(lines))
