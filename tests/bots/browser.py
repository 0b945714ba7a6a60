"""Helpers for the browser tests: the dashboard on a loopback uvicorn, Debian's chromium via Playwright."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed: run infra/install-browser.sh (apt-get install chromium)")


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yield its base URL."""
    import uvicorn

    # uvicorn serves on this socket, bound here: no other process can take the port between picking and serving it
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        # the page's own origin, as an operator lists it in web.public_origins, so its POSTs pass the Origin check
        app.state.allowed_origins = frozenset({*app.state.allowed_origins, f"http://127.0.0.1:{port}"})
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the dashboard did not start within 15 s")
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless chromium (the machine's, never a Playwright download)."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# An EIP-1193 provider, injected before any page script runs. Signing happens in Python
# (eth-account, with the test owner's key) through functions Playwright exposes to the page.
PROVIDER_SCRIPT = """
(() => {
  const address = %(address)r;
  window.ethereum = {
    isConcordTestWallet: true,
    request: async ({ method, params }) => {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [address];
      if (method === "eth_chainId") return %(chain_id_hex)r;
      if (method === "eth_signTypedData_v4") {
        if (params[0].toLowerCase() !== address.toLowerCase()) throw { code: 4100, message: "unknown account" };
        return await window.__walletSignTypedData(params[1]);
      }
      if (method === "personal_sign") return await window.__walletPersonalSign(params[0]);
      throw { code: 4200, message: "unsupported method " + method };
    },
  };
})();
"""


def inject_wallet(context: Any, *, key: str, chain_id: int) -> str:
    """Give every page of ``context`` a wallet holding ``key``; return its address."""
    import json

    from eth_account import Account
    from eth_account.messages import encode_defunct

    account = Account.from_key(key)

    def sign_typed(typed_json: str) -> str:
        signed = Account.sign_typed_data(key, full_message=json.loads(typed_json))
        return "0x" + bytes(signed.signature).hex()

    def personal_sign(message_hex: str) -> str:
        signed = Account.sign_message(encode_defunct(hexstr=message_hex), key)
        return "0x" + bytes(signed.signature).hex()

    context.expose_function("__walletSignTypedData", sign_typed)
    context.expose_function("__walletPersonalSign", personal_sign)
    context.add_init_script(PROVIDER_SCRIPT % {"address": account.address, "chain_id_hex": hex(chain_id)})
    return str(account.address)
