"""Concord's foundation: what every package (ingest, embeddings, agent, governance, bots, evals) imports.

    ingest.core.domain        the SQLModel tables, enums and column helpers (UTCDateTime, json/text columns)
    ingest.core.store         Store (sessions, natural keys, cursors, quarantine) and the Alembic migrations
    ingest.core.settings      ConcordSettings, the only reader of the environment
    ingest.core.errors        the ConcordError tree (one line, exit 2, at every face)
    ingest.core.governor_abi  the Governor ABI entries and ProposalState shared by ingestion and governance
"""
