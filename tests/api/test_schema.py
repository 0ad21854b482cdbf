"""The OpenAPI schema generates without a warning; the docs page and its assets load."""

import re
from pathlib import Path

import yaml
from django.core.management import call_command
from django.test import Client


def test_the_schema_generates_valid_and_without_warnings(tmp_path: Path, db: None) -> None:
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/conversations/{conversation_id}/messages/" in schema["paths"]
    send = schema["paths"]["/api/v1/conversations/{conversation_id}/messages/"]["post"]
    assert {"202", "400", "401", "404", "429", "503"} <= set(send["responses"])


def test_the_docs_page_renders_with_local_assets(db: None) -> None:
    client = Client()

    page = client.get("/api/docs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "SwaggerUIBundle" in html or "swagger-ui" in html
    assert "/api/schema/" in html
    # Swagger UI comes from drf-spectacular-sidecar, served here (no CDN).
    assets = re.findall(r'src="([^"]+\.js)"', html)
    assert assets
    assert all(a.startswith("/static/") for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Messenger API"
