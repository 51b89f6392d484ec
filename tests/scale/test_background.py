"""Background runs on unified ``/ai/run``: the documented rules refused before sending,
the options object on the wire, the immediate reply exposed as it came, and the webhook
body the service would POST (recorded by the emulator)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cf_aig import ConfigurationError
from cf_aig.client import AsyncClient, Client
from cf_aig.emulator import Emulator

MODEL = "openai/gpt-5.5"
INPUT = {"messages": [{"role": "user", "content": "Summarise the quarter"}]}
HOOK = "https://hooks.example.com/cf-aig"


def client_for(emu: Emulator) -> Client:
    return Client(account_id="acc", api_token="tok", base_url=emu.base_url)


def test_background_run_with_a_raw_webhook(cf_aig_emulator: Emulator) -> None:
    with client_for(cf_aig_emulator) as client:
        reply = client.run(MODEL, INPUT, background=True, webhook_url=HOOK)
    sent = cf_aig_emulator.requests[-1]
    assert sent.path.endswith("/ai/run")
    assert sent.json == {"model": MODEL, "input": INPUT,
                         "options": {"background": True, "webhookUrl": HOOK}}
    assert reply.result["success"] is True  # the whole reply, envelope included
    run_id = reply.result["result"]["id"]
    [(url, body)] = cf_aig_emulator.webhooks
    assert url == HOOK and body["id"] == run_id and body["state"] == "Completed"
    assert body["model"] == MODEL and body["result"]["choices"][0]["message"]["content"]
    assert reply.info.log_id


def test_background_run_with_a_chat_webhook_and_a_workers_ai_model(
        cf_aig_emulator: Emulator) -> None:
    with client_for(cf_aig_emulator) as client:
        client.run("@cf/meta/llama-3.1-8b-instruct-fp8", {"prompt": "hi"}, background=True,
                   webhook_url=HOOK, webhook_format="chat")
    assert cf_aig_emulator.requests[-1].path.endswith("/ai/run")  # unified, not /ai/run/@cf
    [(_, body)] = cf_aig_emulator.webhooks
    assert set(body) == {"text"} and json.loads(body["text"])["state"] == "Completed"


async def test_async_background_run_without_webhook(cf_aig_emulator: Emulator) -> None:
    async with AsyncClient(account_id="acc", api_token="tok",
                           base_url=cf_aig_emulator.base_url) as client:
        reply = await client.run(MODEL, INPUT, background=True)
    assert cf_aig_emulator.requests[-1].json["options"] == {"background": True}
    assert reply.result["result"]["state"] == "queued"
    assert cf_aig_emulator.webhooks == []


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"webhook_url": HOOK}, "webhook_url needs background=True"),
    ({"background": True, "webhook_format": "chat"}, "webhook_format needs webhook_url"),
    ({"webhook_format": "raw"}, "webhook_format needs webhook_url"),
    ({"background": True, "webhook_url": HOOK, "webhook_format": "slack"}, "raw"),
    ({"background": True, "webhook_url": "http://hooks.example.com/x"}, "https"),
    ({"background": True, "webhook_url": "https://10.0.0.8/hook"}, "not public"),
    ({"background": True, "webhook_url": "https://[::1]/hook"}, "not public"),
    ({"background": True, "webhook_url": "https://localhost/hook"}, "private"),
    ({"background": True, "webhook_url": "https://u:p@hooks.example.com/"}, "credentials"),
    ({"background": True, "stream": True}, "cannot stream"),
    ({"background": True, "unified": False}, "unified /ai/run only"),
    ({"background": "yes"}, "True or False"),
])
def test_rules_are_checked_before_sending(cf_aig_emulator: Emulator, kwargs: dict[str, Any],
                                          match: str) -> None:
    with client_for(cf_aig_emulator) as client, pytest.raises(ConfigurationError, match=match):
        client.run(MODEL, INPUT, **kwargs)
    assert cf_aig_emulator.requests == []


@pytest.mark.parametrize("options", [
    {"webhookUrl": HOOK},
    {"background": True, "webhookFormat": "raw"},
    {"background": True, "webhookUrl": "https://192.168.1.2/x"},
])
def test_the_emulator_answers_400_to_the_same_mistakes(cf_aig_emulator: Emulator,
                                                       options: dict[str, Any]) -> None:
    import httpx

    r = httpx.post(f"{cf_aig_emulator.account_url}/ai/run",
                   headers={"Authorization": "Bearer t"},
                   json={"model": MODEL, "input": INPUT, "options": options})
    assert r.status_code == 400 and r.json()["success"] is False
