"""Provider configuration secrets on save: values that cannot be sent as HTTP headers are
refused (requests would quote them in errors), and a stored secret is never carried to a new
destination by echoing its mask."""

import pytest

from providers.models import ProviderConfiguration
from providers.services import plain_config
from tests.support.stub_server import StubResponse, StubServer

pytestmark = pytest.mark.django_db

URL = "/v1/provider-configurations"


def http_body(config: dict, name: str = "Scoring") -> dict:
    return {"name": name, "providerId": "http", "config": config}


def query_key_config(base_url: str, value: str = "live-key-123456") -> dict:
    return {
        "base_url": base_url,
        "authentication": {
            "type": "api_key",
            "config": {"key": "apiKey", "value": value, "location": "query"},
        },
    }


def oidc_config() -> dict:
    return {
        "base_url": "https://fraud.example.com/api",
        "authentication": {
            "type": "oidc_client_credentials",
            "config": {
                "tokenURL": "https://auth.example.com/oauth/token",
                "clientID": "flowker",
                "clientSecret": "client-secret-value",
            },
        },
        "headers": {"X-Tenant": "tenant-4242"},
    }


def create(client, body: dict) -> str:
    response = client.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def read_config(client, config_id: str) -> dict:
    return client.get(f"{URL}/{config_id}").json()["config"]


# --- header values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (
            {"base_url": "https://p.example.com", "headers": {"X-Api-Key": " lead-secret"}},
            "config.headers.X-Api-Key",
        ),
        (
            {"base_url": "https://p.example.com", "headers": {"X-Api-Key": "a-secret\r\nX-B: 1"}},
            "config.headers.X-Api-Key",
        ),
        (
            {
                "base_url": "https://p.example.com",
                "authentication": {"type": "bearer", "config": {"token": "tok-secret\n"}},
            },
            "config.authentication.config.token",
        ),
        (
            {
                "base_url": "https://p.example.com",
                "authentication": {
                    "type": "api_key",
                    "config": {"key": "X-Key", "value": "\tkey-secret"},
                },
            },
            "config.authentication.config.value",
        ),
    ],
)
def test_a_header_value_requests_would_refuse_is_refused_on_save(client_api, config, field):
    response = client_api.post(URL, http_body(config), format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "FLK-0302"
    assert set(body["fields"]) == {field}
    assert "secret" not in response.content.decode()
    assert not ProviderConfiguration.objects.exists()


def test_a_tracer_api_key_with_a_line_break_is_refused_on_save(client_api):
    body = {
        "name": "Tracer",
        "providerId": "tracer",
        "config": {"base_url": "https://tracer.example.com", "api_key": "key-secret\r\n"},
    }

    response = client_api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "config.api_key": (
            "must not start or end with whitespace or contain control characters (CR, LF)"
        )
    }


def test_a_bad_header_value_is_refused_on_update_too(client_api):
    config_id = create(client_api, http_body({"base_url": "https://p.example.com"}))

    response = client_api.patch(
        f"{URL}/{config_id}",
        {"config": {"base_url": "https://p.example.com", "headers": {"X-A": "x\ny"}}},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"config.headers.X-A"}


def test_a_header_value_with_an_inner_space_is_fine(client_api):
    config = {"base_url": "https://p.example.com", "headers": {"X-Client": "Flowker v1"}}

    assert client_api.post(URL, http_body(config), format="json").status_code == 201


# --- destinations ---------------------------------------------------------------------------


def test_moving_a_query_key_to_another_host_with_its_mask_is_refused(client_api):
    with StubServer() as victim, StubServer() as attacker:
        victim.on("GET", "/", StubResponse(200, {}))
        attacker.on("GET", "/", StubResponse(200, {}))
        config_id = create(client_api, http_body(query_key_config(victim.url)))
        config = read_config(client_api, config_id)
        config["base_url"] = attacker.url

        response = client_api.patch(f"{URL}/{config_id}", {"config": config}, format="json")

        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "FLK-0301"
        assert body["fields"] == {
            "config.authentication.config.value": "must be sent again because base_url changed"
        }
        stored = plain_config(ProviderConfiguration.objects.get(pk=config_id))
        assert stored["base_url"] == victim.url
        # The next test call still goes to the configured provider only.
        client_api.post(f"{URL}/{config_id}/test", format="json")
        assert attacker.requests() == []


def test_moving_to_another_host_with_the_secret_sent_again_is_accepted(client_api):
    config_id = create(client_api, http_body(query_key_config("https://a.example.com")))

    new = query_key_config("https://b.example.com", value="new-key-987654")
    response = client_api.patch(f"{URL}/{config_id}", {"config": new}, format="json")

    assert response.status_code == 200, response.content
    stored = plain_config(ProviderConfiguration.objects.get(pk=config_id))
    assert stored["authentication"]["config"]["value"] == "new-key-987654"


@pytest.mark.parametrize(
    ("change", "changed"),
    [
        (lambda c: c["authentication"]["config"].update(location="header"), "location"),
        (lambda c: c["authentication"]["config"].update(key="X-Other"), "key"),
    ],
)
def test_changing_where_the_key_goes_requires_the_key_again(client_api, change, changed):
    config_id = create(client_api, http_body(query_key_config("https://a.example.com")))
    config = read_config(client_api, config_id)
    change(config)

    response = client_api.patch(f"{URL}/{config_id}", {"config": config}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "config.authentication.config.value": (
            f"must be sent again because authentication.config.{changed} changed"
        )
    }


def test_changing_the_token_url_requires_every_echoed_secret_again(client_api):
    config_id = create(client_api, http_body(oidc_config()))
    config = read_config(client_api, config_id)
    config["authentication"]["config"]["tokenURL"] = "https://evil.example.com/token"

    response = client_api.patch(f"{URL}/{config_id}", {"config": config}, format="json")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {
        "config.authentication.config.clientSecret",
        "config.headers.X-Tenant",
    }


def test_changing_the_auth_type_requires_the_secret_again(client_api):
    config = {
        "base_url": "https://a.example.com",
        "authentication": {"type": "basic", "config": {"username": "u", "password": "pw-123456"}},
    }
    config_id = create(client_api, http_body(config))
    echoed = read_config(client_api, config_id)
    echoed["authentication"]["type"] = "oidc_user"
    echoed["authentication"]["config"].update(
        tokenURL="https://evil.example.com/token", clientID="c"
    )

    response = client_api.patch(f"{URL}/{config_id}", {"config": echoed}, format="json")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"config.authentication.config.password"}


def test_spelling_out_a_default_is_not_a_destination_change(client_api):
    config_id = create(client_api, http_body(query_key_config("https://a.example.com")))
    config = read_config(client_api, config_id)
    config["verify_tls"] = True

    response = client_api.patch(f"{URL}/{config_id}", {"config": config}, format="json")

    assert response.status_code == 200, response.content
    stored = plain_config(ProviderConfiguration.objects.get(pk=config_id))
    assert stored["authentication"]["config"]["value"] == "live-key-123456"


def test_turning_tls_verification_off_requires_the_secrets_again(client_api):
    config_id = create(client_api, http_body(query_key_config("https://a.example.com")))
    config = read_config(client_api, config_id)
    config["verify_tls"] = False

    response = client_api.patch(f"{URL}/{config_id}", {"config": config}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "config.authentication.config.value": "must be sent again because verify_tls changed"
    }
