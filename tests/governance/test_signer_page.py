"""The dashboard's signing page shows every field of the one canonical Safe transaction, and offers nothing to
sign while a rule refuses the action."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bots.services import Services
from bots.web.app import create_app
from governance.errors import Rule
from ingest.core.settings import ConcordSettings
from ingest.core.store import Store
from tests.governance.conftest import ChainEnv
from tests.governance.test_safe_tx_binding import OUTSIDER, tamper_columns, tamper_stored_tx
from tests.governance.test_vote_flow import make_service, recommend

pytestmark = pytest.mark.chain


@pytest.fixture
def store(sqlite_store: Store) -> Store:
    return sqlite_store

FIELDS = ["safe", "chain_id", "to", "value", "data", "operation", "safeTxGas", "baseGas", "gasPrice", "gasToken", "refundReceiver", "nonce"]


def typed_data_of(html: str) -> object:
    found = re.search(r'<script type="application/json" id="typed-data">(.*?)</script>', html, re.DOTALL)
    assert found is not None
    return json.loads(found.group(1))


def test_signer_page_shows_every_field_and_refuses_a_tampered_action(
    store: Store, chain: ChainEnv, report_dir: Path, settings: ConcordSettings
) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    client = TestClient(create_app(settings, services=Services(store=store, settings=settings, governance=service)))
    page = client.get(f"/signer/{action.id}").text
    assert re.findall(r'<tr data-field="([A-Za-z_]+)"', page) == FIELDS
    assert 'id="sign-button"' in page and 'id="problems"' not in page and 'class="warning"' not in page
    assert typed_data_of(page) == action.typed_data

    # A refund written into the columns (and a matching stored tx): highlighted, refused, nothing to sign.
    tamper_columns(store, action.id, gas_price=10**9, refund_receiver=OUTSIDER)
    page = client.get(f"/signer/{action.id}").text
    assert re.findall(r'<tr data-field="([A-Za-z_]+)" class="warning"', page) == ["gasPrice", "refundReceiver"]
    assert f"refunds go to {OUTSIDER}" in page and "the Safe pays a gas refund" in page
    assert 'id="problems"' in page and f"<code>{Rule.REFUNDS_NOT_ALLOWED}</code>" in page
    assert 'id="sign-button"' not in page and typed_data_of(page) is None
    tamper_columns(store, action.id, gas_price=0, refund_receiver="0x" + "0" * 40)

    # The stored copy pointed at another Safe: the page shows the action's own Safe and refuses.
    tamper_stored_tx(store, action.id, safe=OUTSIDER)
    page = client.get(f"/signer/{action.id}").text
    assert f"<code>{Rule.WRONG_SAFE}</code>" in page and 'id="sign-button"' not in page
    assert f"<code>{chain.safe.address}</code> on chain" in page
