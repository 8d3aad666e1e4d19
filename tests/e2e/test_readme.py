"""The README works as printed: its quick start's five calls, run against the real worker and
the demo fraud scorer, reach a decision; the commands it names exist."""

import re
import shlex
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import get_commands
from rest_framework.test import APIClient

from flowker.demo_scorer import ScoreHandler

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
ASSIGNMENT = re.compile(r"^(?P<name>[A-Z]+)=\$\((?P<command>.*)\)$", re.S)


def quick_start_commands() -> list[str]:
    """The curl commands of the quick start's last block, continuation lines joined."""
    blocks = re.findall(r"```sh\n(.*?)```", README.split("## Quick start", 1)[1], re.S)
    script = next(block for block in blocks if "curl" in block)
    joined = script.replace("\\\n", " ")
    lines = [re.sub(r"\s+", " ", line).strip() for line in joined.splitlines()]
    return [line for line in lines if "curl " in line and not line.startswith("#")]


@pytest.fixture
def scorer():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScoreHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _run(command: str, values: dict[str, str], client: APIClient):
    """One quick-start line: (variable it assigns or None, the `| field` it reads, response)."""
    assigned = ASSIGNMENT.match(command)
    name = assigned["name"] if assigned else None
    command = assigned["command"] if assigned else command
    command, _, pipe = command.partition(" | ")
    for variable, value in values.items():
        command = command.replace(variable, value)
    words = shlex.split(command)
    assert words[0] == "curl", command
    method, headers, data, url = "GET", {}, None, None
    options = iter(words[1:])
    for word in options:
        if word == "-X":
            method = next(options)
        elif word == "-H":
            header, _, value = next(options).partition(": ")
            headers[header] = value
        elif word == "-d":
            data = next(options)
        elif word != "-s":
            url = word
    meta = {
        "HTTP_" + header.upper().replace("-", "_"): value
        for header, value in headers.items()
        if header != "Content-Type"
    }
    caller = APIClient()  # the README sends its own X-API-Key (or none, for the webhook)
    send = getattr(caller, method.lower())
    if data is None:
        response = send(url, **meta)
    else:
        response = send(url, data, content_type=headers["Content-Type"], **meta)
    field = pipe.split("field ", 1)[1].strip() if "field " in pipe else None
    return name, field, response


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_quick_start_reaches_a_decision_as_printed(worker, scorer, api_key):
    commands = quick_start_commands()
    assert len(commands) == 5
    values = {
        "$FLOWKER": "",
        "$KEY": api_key[1],
        "http://127.0.0.1:9000": f"http://127.0.0.1:{scorer}",
    }
    answers = []
    for command in commands:
        if "$(field executionId < decision.json)" in command:
            values["$(field executionId < decision.json)"] = answers[-1].json()["executionId"]
        name, field, response = _run(command, values, APIClient())
        assert response.status_code < 300, (command, response.content)
        answers.append(response)
        if name:
            values[f"${name}"] = str(response.json()[field])
    decision = answers[3]
    assert decision.status_code == 200, decision.content
    assert decision.json()["finalOutput"] == {"decision": "approved", "score": 15}
    results = answers[4].json()
    assert results["status"] == "completed"
    assert [step["nodeId"] for step in results["stepResults"]][:3] == [
        "check-fraud",
        "evaluate-score",
        "approve",
    ]
    assert 'Call 4 answers `200` with `"finalOutput": {"decision": "approved", "score": 15}`' in (
        README.replace("\n", " ")
    )


def test_the_manage_py_commands_the_readme_names_exist():
    named = set(re.findall(r"\.venv/bin/python manage\.py ([a-z_]+)", README))
    assert {"create_api_key", "changepassword", "rotate_encryption_key", "migrate"} <= named
    assert not named - set(get_commands())
    assert "python manage.py" not in README.replace(".venv/bin/python manage.py", "")


def test_the_make_targets_the_readme_names_exist():
    makefile = (REPO / "Makefile").read_text()
    for target in set(re.findall(r"`make (\w+)`", README)):
        assert re.search(rf"^{target}:", makefile, re.M), target
