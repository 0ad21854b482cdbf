"""The probes: /healthz touches nothing, /readyz names the dependency that failed."""

import socket

import pytest
from django.test import Client


def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_answers_without_touching_any_service(settings) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


@pytest.mark.django_db
def test_readyz_is_ok_when_every_service_answers() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert set(body["checks"]) == {"postgres", "redis", "kafka"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_names_redis_when_redis_is_away(settings) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["redis"]
    assert "ConnectionError" in body["checks"]["redis"]["error"]


@pytest.mark.django_db
def test_readyz_names_kafka_when_no_broker_answers(settings) -> None:
    settings.KAFKA_BOOTSTRAP_SERVERS = [f"127.0.0.1:{closed_port()}"]
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 1
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["kafka"]


@pytest.mark.django_db(transaction=True)
def test_readyz_names_postgres_when_the_database_is_away() -> None:
    from django.db import connections

    connection = connections["default"]
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = closed_port()
    try:
        response = Client().get("/readyz")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["postgres"]
    assert "OperationalError" in body["checks"]["postgres"]["error"]
