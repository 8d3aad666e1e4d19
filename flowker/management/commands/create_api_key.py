"""manage.py create_api_key NAME — prints a new API key once; only its hash is stored."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flowker.actors import Actor
from flowker.apikeys.services import api_key_create
from flowker.errors import FlowkerError


class Command(BaseCommand):
    help = "Create an API key and print it (it is shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Unique name; it becomes the audit actor.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            _, raw = api_key_create(name=options["name"], actor=Actor.system())
        except FlowkerError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(raw)
