// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";

/// @title A governor with Compound GovernorBravo's public interface, for Concord's ingestion tests.
/// @notice This is Concord's own code, NOT Compound's GovernorBravoDelegate. It declares Bravo's public
///         events and functions with Bravo's exact signatures (propose with `signatures`, castVote,
///         castVoteWithReason, queue, execute, cancel, state, the `proposals(id)` getter) so that readers
///         of Bravo logs can be tested on a local chain. Deliberate simplifications: no Timelock contract
///         (queue() sets the eta and execute() runs the calls itself once the eta has passed), no
///         castVoteBySig, no admin functions, no proposal threshold.
contract ConcordBravoGovernor {
    enum ProposalState { Pending, Active, Canceled, Defeated, Succeeded, Queued, Expired, Executed }

    struct Receipt {
        bool hasVoted;
        uint8 support;
        uint96 votes;
    }

    struct Proposal {
        uint256 id;
        address proposer;
        uint256 eta;
        address[] targets;
        uint256[] values;
        string[] signatures;
        bytes[] calldatas;
        uint256 startBlock;
        uint256 endBlock;
        uint256 forVotes;
        uint256 againstVotes;
        uint256 abstainVotes;
        bool canceled;
        bool executed;
        mapping(address => Receipt) receipts;
    }

    event ProposalCreated(
        uint256 id,
        address proposer,
        address[] targets,
        uint256[] values,
        string[] signatures,
        bytes[] calldatas,
        uint256 startBlock,
        uint256 endBlock,
        string description
    );
    event VoteCast(address indexed voter, uint256 proposalId, uint8 support, uint256 votes, string reason);
    event ProposalCanceled(uint256 id);
    event ProposalQueued(uint256 id, uint256 eta);
    event ProposalExecuted(uint256 id);

    uint256 public constant GRACE_PERIOD = 14 days;

    IVotes public immutable token;
    uint256 public immutable votingDelay;
    uint256 public immutable votingPeriod;
    uint256 public immutable quorumVotes;
    uint256 public immutable executionDelay;
    uint256 public immutable initialProposalId;
    uint256 public proposalCount;
    /// @dev The public getter omits the arrays and the receipts, exactly as Bravo's `proposals(id)` does.
    mapping(uint256 => Proposal) public proposals;

    constructor(
        IVotes token_,
        uint256 votingDelay_,
        uint256 votingPeriod_,
        uint256 quorumVotes_,
        uint256 executionDelay_,
        uint256 initialProposalId_
    ) {
        token = token_;
        votingDelay = votingDelay_;
        votingPeriod = votingPeriod_;
        quorumVotes = quorumVotes_;
        executionDelay = executionDelay_;
        initialProposalId = initialProposalId_;
        proposalCount = initialProposalId_;
    }

    function propose(
        address[] memory targets,
        uint256[] memory values,
        string[] memory signatures,
        bytes[] memory calldatas,
        string memory description
    ) public returns (uint256) {
        require(
            targets.length == values.length && targets.length == signatures.length && targets.length == calldatas.length,
            "ConcordBravoGovernor::propose: proposal function information arity mismatch"
        );
        require(targets.length != 0, "ConcordBravoGovernor::propose: must provide actions");
        proposalCount++;
        uint256 id = proposalCount;
        Proposal storage p = proposals[id];
        p.id = id;
        p.proposer = msg.sender;
        p.targets = targets;
        p.values = values;
        p.signatures = signatures;
        p.calldatas = calldatas;
        p.startBlock = block.number + votingDelay;
        p.endBlock = p.startBlock + votingPeriod;
        emit ProposalCreated(id, msg.sender, targets, values, signatures, calldatas, p.startBlock, p.endBlock, description);
        return id;
    }

    function castVote(uint256 proposalId, uint8 support) external {
        emit VoteCast(msg.sender, proposalId, support, _castVote(msg.sender, proposalId, support), "");
    }

    function castVoteWithReason(uint256 proposalId, uint8 support, string calldata reason) external {
        emit VoteCast(msg.sender, proposalId, support, _castVote(msg.sender, proposalId, support), reason);
    }

    function _castVote(address voter, uint256 proposalId, uint8 support) internal returns (uint96) {
        require(state(proposalId) == ProposalState.Active, "ConcordBravoGovernor::castVote: voting is closed");
        require(support <= 2, "ConcordBravoGovernor::castVote: invalid vote type");
        Proposal storage p = proposals[proposalId];
        Receipt storage receipt = p.receipts[voter];
        require(!receipt.hasVoted, "ConcordBravoGovernor::castVote: voter already voted");
        uint96 votes = uint96(token.getPastVotes(voter, p.startBlock));
        if (support == 0) p.againstVotes += votes;
        else if (support == 1) p.forVotes += votes;
        else p.abstainVotes += votes;
        receipt.hasVoted = true;
        receipt.support = support;
        receipt.votes = votes;
        return votes;
    }

    function queue(uint256 proposalId) external {
        require(state(proposalId) == ProposalState.Succeeded, "ConcordBravoGovernor::queue: proposal can only be queued if it is succeeded");
        uint256 eta = block.timestamp + executionDelay;
        proposals[proposalId].eta = eta;
        emit ProposalQueued(proposalId, eta);
    }

    function execute(uint256 proposalId) external payable {
        require(state(proposalId) == ProposalState.Queued, "ConcordBravoGovernor::execute: proposal can only be executed if it is queued");
        Proposal storage p = proposals[proposalId];
        require(block.timestamp >= p.eta, "ConcordBravoGovernor::execute: eta not reached");
        p.executed = true;
        for (uint256 i = 0; i < p.targets.length; i++) {
            bytes memory callData = bytes(p.signatures[i]).length == 0
                ? p.calldatas[i]
                : abi.encodePacked(bytes4(keccak256(bytes(p.signatures[i]))), p.calldatas[i]);
            (bool ok,) = p.targets[i].call{value: p.values[i]}(callData);
            require(ok, "ConcordBravoGovernor::execute: transaction execution reverted");
        }
        emit ProposalExecuted(proposalId);
    }

    function cancel(uint256 proposalId) external {
        require(state(proposalId) != ProposalState.Executed, "ConcordBravoGovernor::cancel: cannot cancel executed proposal");
        Proposal storage p = proposals[proposalId];
        require(msg.sender == p.proposer, "ConcordBravoGovernor::cancel: only the proposer may cancel");
        p.canceled = true;
        emit ProposalCanceled(proposalId);
    }

    function getActions(uint256 proposalId)
        external
        view
        returns (address[] memory targets, uint256[] memory values, string[] memory signatures, bytes[] memory calldatas)
    {
        Proposal storage p = proposals[proposalId];
        return (p.targets, p.values, p.signatures, p.calldatas);
    }

    function getReceipt(uint256 proposalId, address voter) external view returns (Receipt memory) {
        return proposals[proposalId].receipts[voter];
    }

    function state(uint256 proposalId) public view returns (ProposalState) {
        require(
            proposalCount >= proposalId && proposalId > initialProposalId, "ConcordBravoGovernor::state: invalid proposal id"
        );
        Proposal storage p = proposals[proposalId];
        if (p.canceled) return ProposalState.Canceled;
        if (block.number <= p.startBlock) return ProposalState.Pending;
        if (block.number <= p.endBlock) return ProposalState.Active;
        if (p.forVotes <= p.againstVotes || p.forVotes < quorumVotes) return ProposalState.Defeated;
        if (p.eta == 0) return ProposalState.Succeeded;
        if (p.executed) return ProposalState.Executed;
        if (block.timestamp >= p.eta + GRACE_PERIOD) return ProposalState.Expired;
        return ProposalState.Queued;
    }
}
