"""Real local peers for the agent's end-to-end tests, and the scenario they play.

- an eth-tester chain with the real OpenZeppelin Governor and a real 2-of-3 Safe 1.4.1, served over JSON-RPC
  (``tests.governance.rpc_bridge``) so that an agent in another process reads and writes the same chain;
- the loopback Snapshot hub and Discourse forum (``ingest.replay.ReplayServer``); the hub holds 40 real closed
  Arbitrum proposals from the bundled sample (the predictor's history), the forum starts empty;
- the loopback Discord (``tests.discord_loopback``).

The scenario: a proposal appears on the Governor (``ProposalCreated``) and its discussion on the forum; voting
opens; owners sign; voting closes. The agent sees each of these only through its own ingest step.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import select

from ingest.sources.recordings import SAMPLE_DIR, load_recording
from tests.discord_loopback import CHANNEL_ID, SIGNER_ROLE_ID

DAO = "arbitrum"
SPACE = "arbitrumfoundation.eth"
VOTING_DELAY = 600  # blocks (1 s each on eth-tester): the forecast has ten minutes before voting opens
VOTING_PERIOD = 100
TOPIC_ID = 501
HISTORY = 40  # closed real proposals in the hub: the outcome model needs 30 of the DAO's own

DISCUSSION = [  # (username, text): three members for, one question
    ("delegate-ana", "I support this proposal. Funding the developer grants is exactly what the treasury is for."),
    ("builder-ben", "Strongly in favour. The grants programme brought real teams to Arbitrum and deserves another round."),
    ("delegate-cho", "I support it as well; the milestones and the reporting plan look solid to me."),
    ("reader-dee", "How will the committee report on the grants it funds?"),
]


def history_proposals() -> list[dict[str, Any]]:
    """The newest ``HISTORY`` closed Arbitrum Snapshot proposals of the bundled sample created before 2025 that have
    an outcome (passed or failed by Concord's outcome rule; polls and elections have none)."""
    from ingest.normalise.snapshot import snapshot_proposal

    cutoff = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
    recorded = load_recording(SAMPLE_DIR / "snapshot-arbitrum.json.gz")["proposals"]
    closed = sorted((p for p in recorded if p.get("state") == "closed" and p["created"] < cutoff
                     and snapshot_proposal(p).outcome in ("passed", "failed")), key=lambda p: p["created"])
    return closed[-HISTORY:]


def _topic(base: str, created: str) -> dict[str, Any]:
    posts = [{"id": TOPIC_ID * 100 + n, "username": user, "name": user, "created_at": created, "updated_at": created,
              "cooked": f"<p>{text}</p>", "post_number": n + 1, "topic_id": TOPIC_ID, "topic_slug": "fund-grants"}
             for n, (user, text) in enumerate(DISCUSSION)]
    return {"id": TOPIC_ID, "title": "Fund the developer grants programme", "slug": "fund-grants", "posts_count": len(posts),
            "created_at": created, "last_posted_at": created, "highest_post_number": len(posts),
            "post_stream": {"posts": posts, "stream": [p["id"] for p in posts]}}


@dataclass
class Chain:
    w3: Any
    deployer: str
    relayer: str
    token: Any
    governor: Any
    safe: Any
    owner_keys: list[str]


def deploy_chain() -> Chain:
    """A fresh eth-tester chain: token, Governor, and a 2-of-3 Safe holding 10% of the votes, delegated to itself."""
    from eth_account import Account
    from web3 import EthereumTesterProvider, Web3

    from governance.chain.deploy import (
        deploy_governor,
        deploy_safe,
        deploy_safe_infrastructure,
        send_and_wait,
    )
    from tests.governance.conftest import OWNER_KEYS, calldata, exec_as_owners

    w3 = Web3(EthereumTesterProvider())
    deployer, relayer = w3.eth.accounts[0], w3.eth.accounts[9]
    deployment = deploy_governor(w3, sender=deployer, voting_delay=VOTING_DELAY, voting_period=VOTING_PERIOD)
    infra = deploy_safe_infrastructure(w3, sender=deployer)
    safe = deploy_safe(w3, infra, owners=[Account.from_key(k).address for k in OWNER_KEYS], threshold=2, sender=deployer)
    send_and_wait(w3, deployment.token.functions.transfer(safe.address, 100_000 * 10**18), sender=deployer)
    exec_as_owners(w3, safe, to=deployment.token.address, data=calldata(deployment.token, "delegate", safe.address),
                   keys=OWNER_KEYS[:2], sender=relayer)
    return Chain(w3=w3, deployer=deployer, relayer=relayer, token=deployment.token, governor=deployment.governor, safe=safe,
                 owner_keys=list(OWNER_KEYS))


@dataclass
class Peers:
    """The running peers and what the scenario changes on them."""

    chain: Chain
    rpc_url: str
    replay: Any
    discord: Any
    proposal_id: int | None = None
    events: list[str] = field(default_factory=list)

    @property
    def forum_url(self) -> str:
        return str(self.replay.url)

    def agent_toml(self, path: Path, *, safe_service_url: str | None = None) -> Path:
        """concord.toml for an agent watching these peers (sources, Discord channel, Safe, Governor, policy)."""
        sts = f'safe_tx_service_url = "{safe_service_url}"\n' if safe_service_url else ""
        path.write_text(f"""
[chain]
rpc_url = "{self.rpc_url}"
safe_address = "{self.chain.safe.address}"
governor_address = "{self.chain.governor.address}"
relayer_address = "{self.chain.relayer}"
confirmations = 0
{sts}
[policy]
allowed_daos = ["{DAO}"]
min_confidence = 0.05
cooldown_hours = 0

[agent.daos.{DAO}]
discord_channel_id = {CHANNEL_ID}
signer_role_id = {SIGNER_ROLE_ID}
recommend = true
sources = [
  {{kind = "snapshot", target = "{SPACE}", options = {{hub = "{self.forum_url}", votes = false, rate = 0}}}},
  {{kind = "governor", target = "{self.chain.governor.address}", options = {{confirmations = 0}}}},
  {{kind = "discourse", target = "{self.forum_url}", options = {{rate = 0}}}},
]
""")
        return path

    def announce(self) -> int:
        """A new proposal on the Governor, its discussion topic on the forum (linked from the description)."""
        from governance.chain.deploy import create_proposal
        from tests.governance.conftest import calldata

        w3, chain = self.chain.w3, self.chain
        if int(w3.eth.get_block("pending")["timestamp"]) < int(time.time()):  # each block adds one second: catch up
            w3.testing.timeTravel(int(time.time()) + 1)
        created = datetime.now(UTC).isoformat()
        self.replay.discourse["responses"][f"/t/{TOPIC_ID}.json"] = _topic(self.forum_url, created)
        self.replay.discourse["responses"]["/latest.json"]["topic_list"]["topics"].append(
            {"id": TOPIC_ID, "title": "Fund the developer grants programme", "slug": "fund-grants", "posts_count": len(DISCUSSION),
             "created_at": created, "last_posted_at": created, "bumped_at": created, "category_id": 1})
        self.proposal_id = create_proposal(
            w3, chain.governor, proposer=chain.deployer, targets=[chain.token.address], values=[0],
            calldatas=[calldata(chain.token, "transfer", chain.deployer, 1)],
            description=f"# Fund the developer grants programme\n\nDiscussion: {self.forum_url}/t/fund-grants/{TOPIC_ID}\n\n"
                        "Send 1 wei of the token back as a stand-in for the grant transfer.",
        )
        self.events.append("announced")
        return self.proposal_id

    def open_voting(self) -> None:
        from governance.chain.deploy import mine_until_active

        assert self.proposal_id is not None
        mine_until_active(self.chain.w3, self.chain.governor, self.proposal_id)
        self.events.append("voting open")

    def close_voting(self) -> str:
        """Mine past the deadline; the Governor's state name (Succeeded or Defeated)."""
        from ingest.core.governor_abi import ProposalState

        self.chain.w3.testing.mine(VOTING_PERIOD + 1)
        self.events.append("voting closed")
        return ProposalState(self.chain.governor.functions.state(self.proposal_id).call()).label

    def votes_cast(self) -> list[dict[str, Any]]:
        """Every VoteCast on the Governor: voter, support, reason."""
        logs = self.chain.governor.events.VoteCast().get_logs(from_block=0)
        return [{"voter": e["args"]["voter"], "support": int(e["args"]["support"]), "reason": e["args"]["reason"]} for e in logs]


@contextmanager
def running_peers(chain: Chain) -> Iterator[Peers]:
    from ingest.replay import ReplayServer
    from tests.discord_loopback import LoopbackDiscord
    from tests.governance.rpc_bridge import serve_json_rpc

    snapshot = {"space": {"id": SPACE, "name": "Arbitrum DAO"}, "proposals": history_proposals(), "votes": []}
    forum = {"base_url": "", "responses": {"/latest.json": {"topic_list": {"topics": []}}},
             "categories": [{"id": 1, "name": "Proposals", "slug": "proposals"}]}
    with ExitStack() as stack:
        rpc_url = stack.enter_context(serve_json_rpc(chain.w3))
        replay = stack.enter_context(ReplayServer(discourse=forum, snapshot=snapshot))
        discord = stack.enter_context(LoopbackDiscord(token="agent-test-token").serving())
        yield Peers(chain=chain, rpc_url=rpc_url, replay=replay, discord=discord)


def sign_through_dashboard(client: Any, services: Any, action_id: int, keys: list[str]) -> None:
    """Each owner signs the action's typed data in their wallet and posts it to the dashboard."""
    from eth_account import Account

    from bots.web.security import CSRF_COOKIE
    from tests.governance.conftest import sign_as

    client.get("/proposals")
    token = client.cookies[CSRF_COOKIE]
    action = services.governance.describe(action_id)
    for key in keys:
        signed = client.post(f"/api/actions/{action_id}/signatures", headers={"X-CSRF-Token": token},
                             json={"signer": Account.from_key(key).address, "signature": sign_as(key, action.typed_data)})
        assert signed.status_code == 200, signed.text


def final_state(store: Any, peers: Peers) -> dict[str, Any]:
    """What must come out the same however often the agent was killed: messages per kind, forecasts, actions,
    votes on chain, unfinished steps, and whether the audit chain verifies."""
    from governance import audit
    from ingest.core.domain import AgentStep, AuditEntry, ForecastRecord, PendingAction

    def kind(content: str) -> str:
        if "consensus report" in content:
            return "card"
        if "Pending vote" in content:
            return "signers"
        return "outcome" if "Brier score" in content else "other"

    posted = peers.discord.posted(CHANNEL_ID)
    with store.session() as session:
        forecasts = session.exec(select(ForecastRecord)).all()
        actions = session.exec(select(PendingAction)).all()
        steps = session.exec(select(AgentStep)).all()
        audited = Counter(e.action for e in session.exec(select(AuditEntry)).all())
    votes = peers.votes_cast()
    return {
        "messages": dict(Counter(kind(r.json["content"]) for r in posted)),
        "markers": sorted(Counter(r.json["content"].rsplit("-# ", 1)[-1] for r in posted).values()),
        "forecasts": [(f.proposal_id, bool(f.scored_at)) for f in forecasts],
        "actions": [(a.proposal_ref, a.status) for a in actions],
        "votes": [(v["voter"], v["support"], "sha256:" in v["reason"]) for v in votes],
        "unfinished": sorted(s.stage for s in steps if s.status in ("started", "failed")),
        "audit": {k: audited[k] for k in ("forecast-commit", "forecast-score", "recommend", "approve", "execute")},
        "audit_ok": audit.verify(store).ok,
    }
