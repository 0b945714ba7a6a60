"""Deploy Concord's test contracts on a given Web3: ERC20Votes token, Governor (plain, behind a timelock, or
with GovernorBravo's interface), Safe 1.4.1.

Used by tests in several packages and by local demos on an in-process chain
(``Web3(EthereumTesterProvider())``). Every transaction is sent from an unlocked account of the
node (``sender``); nothing here holds a production key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from governance.contracts import load_artifact, load_safe_artifact

if TYPE_CHECKING:  # pragma: no cover
    from web3 import Web3
    from web3.contract import Contract

__all__ = [
    "GovernorDeployment",
    "SafeInfrastructure",
    "TimelockGovernorDeployment",
    "create_proposal",
    "delegate_votes",
    "deploy_artifact",
    "deploy_bravo_governor",
    "deploy_governor",
    "deploy_safe",
    "deploy_safe_infrastructure",
    "deploy_timelock_governor",
    "mine_until_active",
    "send_and_wait",
]

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class GovernorDeployment:
    """A deployed ERC20Votes token and the OpenZeppelin Governor that counts its votes."""

    token: Contract
    governor: Contract


@dataclass(frozen=True)
class TimelockGovernorDeployment:
    """An ERC20Votes token, OpenZeppelin's TimelockController, and the Governor that queues into it."""

    token: Contract
    governor: Contract
    timelock: Contract


@dataclass(frozen=True)
class SafeInfrastructure:
    """Safe 1.4.1 singleton, proxy factory and fallback handler deployed on one chain."""

    singleton: Contract
    proxy_factory: Contract
    fallback_handler: Contract


def send_and_wait(w3: Web3, call: Any, *, sender: str) -> Any:
    """Send a contract function call from ``sender`` and return the mined receipt."""
    tx_hash = call.transact({"from": sender})
    return w3.eth.wait_for_transaction_receipt(tx_hash)


def deploy_artifact(w3: Web3, artifact: dict[str, Any], *args: Any, sender: str) -> Contract:
    """Deploy a compiled artifact with constructor ``args`` and return the bound contract."""
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = send_and_wait(w3, factory.constructor(*args), sender=sender)
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def deploy_governor(
    w3: Web3,
    *,
    sender: str,
    supply: int = 1_000_000 * 10**18,
    voting_delay: int = 1,
    voting_period: int = 50,
    proposal_threshold: int = 0,
    quorum_percent: int = 4,
    name: str = "Concord Test Governor",
) -> GovernorDeployment:
    """Deploy ``ConcordVotesToken`` (whole supply to ``sender``) and ``ConcordGovernor`` over it."""
    token = deploy_artifact(w3, load_artifact("ConcordVotesToken"), "Concord Vote", "CVOTE", supply, sender, sender=sender)
    governor = deploy_artifact(
        w3,
        load_artifact("ConcordGovernor"),
        name,
        token.address,
        voting_delay,
        voting_period,
        proposal_threshold,
        quorum_percent,
        sender=sender,
    )
    return GovernorDeployment(token=token, governor=governor)


def deploy_timelock_governor(
    w3: Web3,
    *,
    sender: str,
    supply: int = 1_000_000 * 10**18,
    voting_delay: int = 1,
    voting_period: int = 50,
    proposal_threshold: int = 0,
    quorum_percent: int = 4,
    min_delay: int = 60,
    name: str = "Concord Timelock Governor",
) -> TimelockGovernorDeployment:
    """Deploy ``ConcordVotesToken``, OpenZeppelin's ``TimelockController`` and ``ConcordTimelockGovernor``.

    The Governor gets the timelock's proposer and canceller roles, anyone may execute a ready operation
    (executor = zero address), and ``sender`` gives up the timelock's admin role, as a real DAO would.
    Succeeded proposals must be queued (``ProposalQueued`` with an eta ``min_delay`` seconds ahead) and then
    executed through the timelock.
    """
    token = deploy_artifact(w3, load_artifact("ConcordVotesToken"), "Concord Vote", "CVOTE", supply, sender, sender=sender)
    timelock = deploy_artifact(
        w3, load_artifact("TimelockController"), min_delay, [], [ZERO_ADDRESS], sender, sender=sender
    )
    governor = deploy_artifact(
        w3,
        load_artifact("ConcordTimelockGovernor"),
        name,
        token.address,
        timelock.address,
        voting_delay,
        voting_period,
        proposal_threshold,
        quorum_percent,
        sender=sender,
    )
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE"):
        role_id = getattr(timelock.functions, role)().call()
        send_and_wait(w3, timelock.functions.grantRole(role_id, governor.address), sender=sender)
    admin_role = timelock.functions.DEFAULT_ADMIN_ROLE().call()
    send_and_wait(w3, timelock.functions.renounceRole(admin_role, sender), sender=sender)
    return TimelockGovernorDeployment(token=token, governor=governor, timelock=timelock)


def deploy_bravo_governor(
    w3: Web3,
    token: Contract,
    *,
    sender: str,
    voting_delay: int = 1,
    voting_period: int = 50,
    quorum_votes: int = 40_000 * 10**18,
    execution_delay: int = 60,
    initial_proposal_id: int = 42,
) -> Contract:
    """Deploy ``ConcordBravoGovernor`` over an ERC20Votes ``token``.

    It is Concord's own contract with Compound GovernorBravo's public interface and events (not Compound's
    code): proposal ids count up from ``initial_proposal_id`` + 1, as Bravo's did after GovernorAlpha.
    """
    return deploy_artifact(
        w3,
        load_artifact("ConcordBravoGovernor"),
        token.address,
        voting_delay,
        voting_period,
        quorum_votes,
        execution_delay,
        initial_proposal_id,
        sender=sender,
    )


def delegate_votes(w3: Web3, token: Contract, *, holder: str, to: str, amount: int | None = None) -> None:
    """Give ``to`` voting power: transfer ``amount`` from ``holder`` (if given) and have ``to`` self-delegate.

    Self-delegation needs a transaction from ``to``; for a contract (a Safe) pass ``amount`` and
    delegate through the Safe, or have ``holder`` keep the tokens and delegate to ``to`` (amount=None).
    """
    if amount is None:
        send_and_wait(w3, token.functions.delegate(to), sender=holder)
        return
    send_and_wait(w3, token.functions.transfer(to, amount), sender=holder)


def create_proposal(
    w3: Web3,
    governor: Contract,
    *,
    proposer: str,
    targets: Sequence[str],
    values: Sequence[int],
    calldatas: Sequence[bytes],
    description: str,
) -> int:
    """Call ``propose`` and return the proposal id the Governor computes for it."""
    send_and_wait(
        w3, governor.functions.propose(list(targets), list(values), list(calldatas), description), sender=proposer
    )
    description_hash = w3.keccak(text=description)
    return int(governor.functions.hashProposal(list(targets), list(values), list(calldatas), description_hash).call())


def mine_until_active(w3: Web3, governor: Contract, proposal_id: int) -> None:
    """Mine blocks until the proposal's voting starts (state 1 = Active)."""
    snapshot = int(governor.functions.proposalSnapshot(proposal_id).call())
    current = int(w3.eth.block_number)
    if current <= snapshot:
        w3.testing.mine(snapshot - current + 1)


def deploy_safe_infrastructure(w3: Web3, *, sender: str) -> SafeInfrastructure:
    """Deploy the Safe 1.4.1 singleton, proxy factory and compatibility fallback handler."""
    return SafeInfrastructure(
        singleton=deploy_artifact(w3, load_safe_artifact("Safe_V1_4_1"), sender=sender),
        proxy_factory=deploy_artifact(w3, load_safe_artifact("ProxyFactory_V1_4_1"), sender=sender),
        fallback_handler=deploy_artifact(w3, load_safe_artifact("CompatibilityFallbackHandler_V1_4_1"), sender=sender),
    )


def deploy_safe(
    w3: Web3,
    infra: SafeInfrastructure,
    *,
    owners: Sequence[str],
    threshold: int,
    sender: str,
    salt_nonce: int = 0,
) -> Contract:
    """Create a Safe proxy with ``owners`` and ``threshold`` and return it bound to the Safe ABI."""
    safe_abi = load_safe_artifact("Safe_V1_4_1")["abi"]
    singleton = infra.singleton
    setup = singleton.encode_abi(
        "setup",
        args=[list(owners), threshold, ZERO_ADDRESS, b"", infra.fallback_handler.address, ZERO_ADDRESS, 0, ZERO_ADDRESS],
    )
    receipt = send_and_wait(
        w3, infra.proxy_factory.functions.createProxyWithNonce(singleton.address, setup, salt_nonce), sender=sender
    )
    from web3.logs import DISCARD

    events = infra.proxy_factory.events.ProxyCreation().process_receipt(receipt, errors=DISCARD)
    return w3.eth.contract(address=events[0]["args"]["proxy"], abi=safe_abi)
