"""WAHA's ValidationPipe: 400 with a list of class-validator messages (issue 13, item 5)."""

from __future__ import annotations

import pytest

HOOK = {"url": "https://hooks.test/waha", "events": ["session.status"]}


def config_with(**webhook) -> dict:
    return {"webhooks": [{**HOOK, **webhook}]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x" * 55}, "name must be shorter than or equal to 54 characters"),
        ({"name": 7}, "name must be a string"),
        ({"name": "s", "start": "yes"}, "start must be a boolean value"),
        ({"name": "s", "config": "on"}, "config must be an object"),
        ({"name": "s", "config": {"metadata": []}}, "config.metadata must be an object"),
        ({"name": "s", "config": config_with(url="not a url")}, "config.webhooks.0.url must be a URL address"),
        ({"name": "s", "config": config_with(url="ftp://hooks.test/x")}, "config.webhooks.0.url must be a URL address"),
        ({"name": "s", "config": config_with(url=None)}, "config.webhooks.0.url must be a URL address"),
        ({"name": "s", "config": config_with(events="session.status")}, "config.webhooks.0.events must be an array"),
        ({"name": "s", "config": {"webhooks": {"url": "https://h.test"}}}, "config.webhooks must be an array"),
        ({"name": "s", "config": config_with(hmac={"key": 1})}, "config.webhooks.0.hmac.key must be a string"),
    ],
)
async def test_bad_dtos_are_400_with_a_list_of_messages(simulator, body, message):
    sim, client = simulator
    refused = await client.post("/api/sessions", json=body)
    assert refused.status_code == 400
    assert refused.json() == {"statusCode": 400, "message": [message], "error": "Bad Request"}
    assert sim.engine.sessions == {}


async def test_unknown_event_names_are_refused_and_every_problem_is_listed(simulator):
    _, client = simulator
    refused = await client.post(
        "/api/sessions", json={"name": "x" * 60, "config": config_with(events=["session.status", "sesion.status"])}
    )
    messages = refused.json()["message"]
    assert refused.status_code == 400 and len(messages) == 2
    assert messages[0] == "name must be shorter than or equal to 54 characters"
    assert messages[1].startswith("config.webhooks.0.each value in events must be one of the following values: ")
    assert "session.status" in messages[1]


async def test_unknown_config_keys_are_stripped_not_refused(simulator):
    _, client = simulator
    body = {"name": "strip", "start": False, "extra": 1,
            "config": {"metadata": {"k": "v"}, "nonsense": True, "webhooks": [{**HOOK, "colour": "red"}]}}
    created = await client.post("/api/sessions", json=body)
    assert created.status_code == 201
    assert created.json()["config"] == {"metadata": {"k": "v"}, "webhooks": [HOOK]}
    updated = await client.put("/api/sessions/strip", json={"config": {"debug": True, "bogus": 1}})
    assert updated.json()["config"] == {"debug": True}


async def test_wildcard_and_localhost_webhooks_are_accepted(simulator):
    _, client = simulator
    config = {"webhooks": [{"url": "http://localhost:8000/hook", "events": ["*"]}]}
    assert (await client.post("/api/sessions", json={"name": "w", "start": False, "config": config})).status_code == 201


async def test_put_validates_like_create(simulator):
    _, client = simulator
    await client.post("/api/sessions", json={"name": "p", "start": False})
    refused = await client.put("/api/sessions/p", json={"config": config_with(url="nope")})
    assert refused.status_code == 400 and refused.json()["message"] == ["config.webhooks.0.url must be a URL address"]


@pytest.mark.parametrize("value", ["yes", "", "TRUEISH"])
async def test_all_must_be_a_boolean(simulator, value):
    _, client = simulator
    refused = await client.get("/api/sessions", params={"all": value})
    assert refused.status_code == 400 and refused.json()["message"] == ["all must be a boolean value"]


async def test_all_accepts_true_and_false(simulator):
    _, client = simulator
    await client.post("/api/sessions", json={"name": "idle", "start": False})
    assert len((await client.get("/api/sessions", params={"all": "true"})).json()) == 1
    assert (await client.get("/api/sessions", params={"all": "false"})).json() == []
