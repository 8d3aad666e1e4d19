"""The catalog's read-only console pages."""

import html
import json
import re

import pytest

from catalog import registry

pytestmark = pytest.mark.django_db

LIST_PAGES = [
    ("/admin/catalog/executors/", ["http.request", "transform.json", "midaz.get-account"]),
    ("/admin/catalog/triggers/", ["webhook", "manual"]),
    ("/admin/catalog/providers/", ["http", "midaz", "tracer"]),
    ("/admin/catalog/templates/", ["payment-fraud-check", "tracer-midaz-validation"]),
]
DETAIL_PAGES = [
    ("/admin/catalog/executors/http.request/", registry.get_executor("http.request").schema),
    ("/admin/catalog/triggers/webhook/", registry.get_trigger("webhook").schema),
    ("/admin/catalog/providers/midaz/", registry.get_provider("midaz").config_schema),
    (
        "/admin/catalog/templates/payment-fraud-check/",
        registry.get_template("payment-fraud-check").param_schema,
    ),
]


@pytest.mark.parametrize(("url", "ids"), LIST_PAGES)
def test_list_pages_show_every_entry_with_a_link(admin_client, url, ids):
    response = admin_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    for spec_id in ids:
        assert f'href="{url}{spec_id}/"' in page


@pytest.mark.parametrize(("url", "schema"), DETAIL_PAGES)
def test_detail_pages_show_the_pretty_printed_schema(admin_client, url, schema):
    response = admin_client.get(url)
    assert response.status_code == 200
    shown = re.search(r"<pre[^>]*>(.*?)</pre>", response.content.decode(), re.DOTALL).group(1)
    text = html.unescape(shown)
    assert json.loads(text) == schema
    assert '\n  "$schema": ' in text


def test_provider_page_links_its_executors(admin_client):
    page = admin_client.get("/admin/catalog/providers/tracer/").content.decode()
    assert 'href="/admin/catalog/executors/tracer.validate-transaction/"' in page
    assert 'href="/admin/catalog/executors/http.request/"' not in page


def test_console_index_links_the_catalog_pages(admin_client):
    page = admin_client.get("/admin/").content.decode()
    for url, _ in LIST_PAGES:
        assert f'href="{url}"' in page


def test_unknown_entry_page_is_404(admin_client):
    assert admin_client.get("/admin/catalog/executors/nope/").status_code == 404


@pytest.mark.parametrize("url", [url for url, _ in LIST_PAGES + DETAIL_PAGES])
def test_anonymous_visitors_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
