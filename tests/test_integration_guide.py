"""Every JSON request example of the integration guide is accepted as printed (CONTRACT, how to
read the spec folder, item 2).

The guide lives beside the repository (`../shared/spec/integration-guide.md`, as in CI). Each
fenced block that starts with (or follows) a `POST`/`PUT`/`PATCH` line is sent to the endpoint it
names, with its headers and its body exactly as printed, except the guide's ids and
placeholders, which become real ones. Blocks that are fragments (a node, an authentication) are
sent inside the smallest request that takes them. Workflows are activated as the guide does
before it executes them.
"""

import json
import re
import textwrap
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import make_provider_config

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO.parent / "shared" / "spec" / "integration-guide.md"

FENCE = re.compile(r"^[ \t]*```[^\n]*\n(?P<body>.*?)^[ \t]*```", re.S | re.M)
REQUEST_LINE = re.compile(r"^(?P<method>POST|PUT|PATCH)\s+(?P<path>/\S+)\s*$")
HEADER_LINE = re.compile(r"^(?P<name>[A-Za-z0-9-]+):\s*(?P<value>.*)$")
PLACEHOLDER = re.compile(r"\{([A-Za-z-]+)\}|:([A-Za-z]+)")


class Example:
    def __init__(self, number: int, method: str, path: str, headers: dict, text: str) -> None:
        self.number, self.method, self.path, self.headers, self.text = (
            number,
            method,
            path,
            headers,
            text,
        )
        self.body = json.loads(text, parse_float=Decimal)

    def __repr__(self) -> str:
        return f"example {self.number}: {self.method} {self.path}"


def _request_line(text: str) -> re.Match | None:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return REQUEST_LINE.match(lines[-1]) if lines else None


def guide_examples(markdown: str) -> list[Example]:
    """The JSON request examples, in guide order: full requests and wrapped fragments."""
    examples: list[Example] = []
    previous_end = 0
    for number, fence in enumerate(FENCE.finditer(markdown), start=1):
        block = textwrap.dedent(fence.group("body")).strip()
        lines = block.splitlines()
        before = _request_line(markdown[previous_end : fence.start()].split("```")[-1])
        previous_end = fence.end()
        inside = REQUEST_LINE.match(lines[0].strip()) if lines else None
        if inside or before:
            line = inside or before
            rest = lines[1:] if inside else lines
            headers = {}
            while rest and HEADER_LINE.match(rest[0].strip()):
                header = HEADER_LINE.match(rest.pop(0).strip())
                headers[header["name"]] = header["value"]
            text = "\n".join(rest).strip()
            if text:
                examples.append(Example(number, line["method"], line["path"], headers, text))
            continue
        try:
            fragment = json.loads(block, parse_float=Decimal)
        except ValueError:
            continue  # not JSON (e.g. a bare route line)
        examples.append(_wrapped(number, fragment, block))
    return examples


def _wrapped(number: int, fragment: Any, text: str) -> Example:
    """The smallest request that takes a fragment, with the fragment's text as printed."""
    if isinstance(fragment, dict) and {"id", "type"} <= set(fragment):
        is_trigger = fragment["type"] == "trigger"
        other = (
            '{"id": "guide-end", "type": "action", "position": {"x": 1, "y": 0}, '
            '"data": {"action": "log"}}'
            if is_trigger
            else '{"id": "guide-start", "type": "trigger", "position": {"x": 0, "y": 0}, '
            '"data": {"triggerType": "manual"}}'
        )
        nodes = f"[{text}, {other}]" if is_trigger else f"[{other}, {text}]"
        source, target = (
            (fragment["id"], "guide-end") if is_trigger else ("guide-start", fragment["id"])
        )
        edge = json.dumps({"id": "guide-e1", "source": source, "target": target})
        body = f'{{"name": "guide-example-{number}", "nodes": {nodes}, "edges": [{edge}]}}'
        return Example(number, "POST", "/v1/workflows", {}, body)
    if isinstance(fragment, dict) and set(fragment) == {"authentication"}:
        config = text.strip()[1:-1]
        body = (
            f'{{"name": "guide-example-{number}", "providerId": "http", '
            f'"config": {{"base_url": "https://fraud.example.com", {config}}}}}'
        )
        return Example(number, "POST", "/v1/provider-configurations", {}, body)
    raise AssertionError(f"example {number} is JSON of a shape this test does not know: {text}")


def _provider_config_ids(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {str(v) for k, v in value.items() if k == "providerConfigId"}
        for item in value.values():
            found |= _provider_config_ids(item)
        return found
    if isinstance(value, list):
        return set().union(*(_provider_config_ids(item) for item in value)) if value else set()
    return set()


def _filled_path(example: Example, known: dict[str, str]) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in known:
            raise AssertionError(f"{example}: no id to put in place of {match.group(0)}")
        return known[name]

    return PLACEHOLDER.sub(fill, example.path)


def _send(example: Example, known: dict[str, str], keyed: APIClient) -> Any:
    text = example.text
    for guide_id in _provider_config_ids(example.body):
        text = text.replace(guide_id, known["providerConfigId"])
    meta = {}
    for name, value in example.headers.items():
        if name.lower() == "content-type":
            continue
        meta["HTTP_" + name.upper().replace("-", "_")] = PLACEHOLDER.sub(
            lambda _: str(uuid.uuid4()), value
        )
    path = _filled_path(example, known)
    # Webhook callers hold no Flowker API key (the guide's example sends none).
    client = APIClient() if path.startswith("/v1/webhooks/") else keyed
    send = getattr(client, example.method.lower())
    return send(path, text.encode("utf-8"), content_type="application/json", **meta)


@pytest.fixture
def guide_text() -> str:
    if not GUIDE.is_file():
        pytest.skip(
            f"the integration guide is not at {GUIDE}: this test reads ../shared/spec/ "
            "beside the repository, as CI places it"
        )
    return GUIDE.read_text(encoding="utf-8")


def test_the_guide_has_the_examples_this_test_expects(guide_text):
    examples = guide_examples(guide_text)
    targets = [(example.method, example.path) for example in examples]
    assert ("POST", "/v1/workflows") in targets
    assert ("POST", "/v1/provider-configurations") in targets
    assert ("POST", "/v1/workflows/{workflowId}/executions") in targets
    assert ("POST", "/v1/webhooks/payments/received") in targets
    assert len(examples) >= 6


def test_every_json_request_example_of_the_guide_is_accepted(guide_text, client_api):
    known = {"providerConfigId": str(make_provider_config(name="guide-provider").pk)}
    refused = []
    for example in guide_examples(guide_text):
        response = _send(example, known, client_api)
        if response.status_code >= 300:
            refused.append(f"{example}: {response.status_code} {response.content.decode()}")
            continue
        created = response.json()
        if example.path == "/v1/workflows":
            known["workflowId"] = created["workflowId"]
            activated = client_api.post(f"/v1/workflows/{created['workflowId']}/activate")
            if activated.status_code != 200:
                refused.append(f"{example} (activation): {activated.content.decode()}")
        elif example.path == "/v1/provider-configurations":
            known["id"] = created["id"]
    assert not refused, "\n".join(refused)
