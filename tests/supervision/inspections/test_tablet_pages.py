"""The tablet app's pages (docs/OFFLINE.md): the shell for inspectors only, the service worker at the
root with Workbox from our own static files, the manifest with its icons."""

import json
import re

import pytest
from django.contrib.staticfiles import finders

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_shell_is_the_inspectors_and_carries_its_texts_and_addresses(client, inspector_user):
    # In English: the texts the shell carries are the reader's language's (Chinese by default).
    response = signed_in(client, inspector_user).get("/tablet/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
    html = response.content.decode()
    assert 'rel="manifest" href="/tablet/manifest.webmanifest"' in html
    config = json.loads(
        re.search(r'id="tablet-config" type="application/json">(.*?)</script>', html).group(1)
    )
    assert config["user"] == inspector_user.pk
    assert config["urls"]["pack"] == "/api/v1/daypack"
    assert config["urls"]["sync"] == "/api/v1/inspections/sync"
    assert config["urls"]["sw"] == "/sw.js"
    assert config["texts"]["take_pack"] == "Take the day pack"


def test_the_shell_is_not_for_others(client, regulator_user, business_user):
    assert client.get("/tablet/").status_code == 302  # to the sign-in page
    for user in (regulator_user, business_user):
        assert signed_in(client, user).get("/tablet/").status_code == 404
        client.logout()


def test_the_service_worker_is_served_at_the_root_with_workbox_from_our_static_files(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    script = response.content.decode()
    config = json.loads(re.search(r"var CONFIG = (\{.*\});", script).group(1))
    assert "googleapis" not in script and "cdn" not in json.dumps(config).lower()
    urls = [config["workboxSw"], *config["modules"].values(), *config["scripts"]]
    urls += [entry["url"] for entry in config["precache"]]
    for url in urls:
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), url
    assert {"/static/supervision/tablet.js", "/static/supervision/tablet_sync.js"} <= {
        entry["url"] for entry in config["precache"]
    }
    assert all(len(entry["revision"]) == 16 for entry in config["precache"])
    assert config["shell"] == "/tablet/"
    for module in ("core", "precaching", "routing", "strategies", "background-sync"):
        assert f"workbox-{module}" in config["modules"]


def test_the_vendored_workbox_names_no_missing_source_map():
    # Django's manifest storage (collectstatic) refuses a file that names a map it cannot find.
    for name in ("workbox-sw.js", "workbox-core.prod.js", "workbox-background-sync.prod.js"):
        path = finders.find(f"supervision/workbox/7.4.1/{name}")
        with open(path) as file:
            assert "sourceMappingURL" not in file.read()


def test_the_manifest_installs_the_tablet_app(client):
    response = client.get("/tablet/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/tablet/", "/", "standalone")
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/"))
