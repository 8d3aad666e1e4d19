"""Builds what `make chaos` drives, through the services (migrations first): an API key, the
guide's payment workflow (template `payment-fraud-check`) on the stub's `ok` mode, one workflow
per provider fault (each with a provider configuration, hence a circuit breaker, of its own),
and the drafts the concurrency scenario races on. Prints the ids as one JSON document.

Usage (with the program's environment): python -m tests.chaos.setup STUB_URL REFUSED_URL
"""

import json
import sys

import django

TOKEN = "chaos-token"
FAULTS = ("refused", "reset", "timeout", "trickle", "5xx", "429", "badjson", "huge", "redirect")
RACERS = 50


def main(stub_url: str, refused_url: str) -> dict:
    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    from flowker.actors import Actor
    from flowker.apikeys.services import api_key_create
    from providers.services import provider_config_create
    from workflows.services import workflow_activate, workflow_create_from_template

    actor = Actor.system()

    def payments(name: str, base_url: str, path: str, *, active: bool = True) -> str:
        provider = provider_config_create(
            name=name, provider_id="http", config={"base_url": base_url}, actor=actor
        )
        return draft(name, provider.pk, path, active=active)

    def draft(name: str, provider_id, path: str, *, active: bool = False) -> str:
        workflow = workflow_create_from_template(
            template_id="payment-fraud-check",
            params={"workflowName": name, "fraudProviderConfigId": str(provider_id),
                    "webhookPath": path, "verifyToken": TOKEN},
            actor=actor,
        )  # fmt: skip
        if active:
            workflow_activate(workflow=workflow, actor=actor)
        return str(workflow.pk)

    ok = provider_config_create(
        name="chaos-ok", provider_id="http", config={"base_url": f"{stub_url}/ok"}, actor=actor
    )
    faults = {
        mode: payments(
            f"chaos-{mode}", refused_url if mode == "refused" else f"{stub_url}/{mode}",
            f"faults/{mode}",
        )
        for mode in FAULTS
    }  # fmt: skip
    return {
        "api_key": api_key_create(name="chaos", actor=actor)[1],
        "payments": draft("chaos-payments", ok.pk, "payments/received", active=True),
        "faults": faults,
        "racers": [draft(f"chaos-racer-{n}", ok.pk, "race/owner") for n in range(RACERS)],
        "transition": draft("chaos-transition", ok.pk, "race/transition"),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
