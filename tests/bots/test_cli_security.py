"""`concord serve` will not expose a forgeable dashboard; `concord config show` shows no credential."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from bots.cli.main import main
from bots.web.middleware import FreezeHeapAfterWarmup
from bots.web.security import check_session_secret, is_loopback
from ingest.core.errors import ConfigError


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "concord.example.org", ""])
def test_default_secret_beyond_loopback_is_refused(host: str) -> None:
    with pytest.raises(ConfigError, match="Refusing to serve .* default web.session_secret"):
        check_session_secret(host, "change-me")
    with pytest.raises(ConfigError):
        check_session_secret(host, "")
    check_session_secret(host, "a-long-random-secret")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"])
def test_loopback_may_keep_the_default(host: str) -> None:
    assert is_loopback(host)
    check_session_secret(host, "change-me")


def test_serve_on_all_interfaces_with_the_default_secret_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    served: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append({"app": app, **kw}))
    port = _free_port()
    assert main(["serve", "--host", "0.0.0.0", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert "Refusing to serve on 0.0.0.0" in err and "CONCORD_WEB__SESSION_SECRET" in err and "Traceback" not in err
    assert served == []
    monkeypatch.setenv("CONCORD_WEB__SESSION_SECRET", "s3cret-for-this-test-only-0123456789")
    assert main(["serve", "--host", "0.0.0.0", "--port", str(port)]) == 0
    (run,) = served
    assert (run["host"], run["port"]) == ("0.0.0.0", port)
    assert isinstance(run["app"], FreezeHeapAfterWarmup)  # what uvicorn serves: the dashboard, its warm heap frozen
    # the Origin check follows the port actually served, not the configured default
    assert run["app"].app.state.allowed_origins == {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}
    assert f"accepted from pages at: http://127.0.0.1:{port}, http://localhost:{port}" in " ".join(capsys.readouterr().err.split())


def test_config_show_masks_credentials_in_every_url(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CONCORD_QUEUE__BROKER_URL", "amqp://concord:brokerpw@mq:5672//")
    monkeypatch.setenv("CONCORD_CHAIN__RPC_URL", "https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161")
    monkeypatch.setenv("CONCORD_CHAIN__SAFE_TX_SERVICE_URL", "https://svc:safepw@safe.example/api?api_key=svckey123&x=1")
    monkeypatch.setenv("CONCORD_LLM__BASE_URL", "http://llmtoken42@vllm:8000/v1")
    monkeypatch.setenv("CONCORD_DISCORD__GATEWAY_URL", "ws://gw:7878/?token=gatewaytok")
    monkeypatch.setenv("CONCORD_WEB__PUBLIC_ORIGINS", '["https://ops:originpw@concord.example.org"]')
    monkeypatch.setenv("CONCORD_DATABASE_URL", "postgresql+psycopg://user:hunter2@db:5432/concord")
    for as_json in (True, False):
        assert main(["config", "show", *(["--json"] if as_json else [])]) == 0
        out = capsys.readouterr().out
        for secret in ("brokerpw", "9aa3d95b3bc440fa88ea12eaa4456161", "safepw", "svckey123", "llmtoken42", "gatewaytok",
                       "originpw", "hunter2"):
            assert secret not in out
    assert main(["config", "show", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["queue"]["broker_url"] == "amqp://concord:***@mq:5672//"
    assert data["chain"]["rpc_url"] == "https://mainnet.infura.io/v3/***"
    assert data["chain"]["safe_tx_service_url"] == "https://svc:***@safe.example/api?api_key=***&x=1"
    assert data["llm"]["base_url"] == "http://***@vllm:8000/v1"
    assert data["web"]["public_origins"] == ["https://ops:***@concord.example.org"]
    assert data["database_url"] == "postgresql+psycopg://user:***@db:5432/concord"
    assert data["discord"]["dashboard_url"] == "http://127.0.0.1:8000"  # nothing secret: shown as is
