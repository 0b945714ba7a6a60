"""Concord ingest: the foundation every package imports, and getting a DAO's data into the store.

    ingest.core             the foundation (nothing below it but libraries):
        core.domain         SQLModel tables, enums, column helpers (UTCDateTime: aware UTC in and out)
        core.store          Store: sessions, natural keys, cursors; Alembic migrations (core/store/migrations)
        core.settings       ConcordSettings, the only reader of the environment
        core.errors         the ConcordError tree (one line, exit 2, at every face)
        core.governor_abi   the Governor ABI entries and ProposalState shared with governance
    ingest.sources          one module per source: Discourse, Snapshot, Governor, Discord (export and live),
                            recorded payloads, the bundled sample
    ingest.normalise        a source's payload -> ingest.records (plus the outcome and time-parsing rules)
    ingest.records          the source-independent records normalisers produce and the writer stores
    ingest.pipeline         running a source batch by batch, each batch committed with its cursor
    ingest.writer           idempotent writes by natural key
    ingest.quarantine       records that could not be stored: kept with their reason, listed, replayed
    ingest.queue            ingestion jobs: the same job runs from the CLI and the RabbitMQ worker
    ingest.identity         linking forum accounts to addresses (claims)
    ingest.linking          linking proposals to their discussion threads
    ingest.http             the polite HTTP client every live source uses
    ingest.replay, replay_forum  loopback servers that replay recordings in the live APIs' shapes
    ingest.status           what the store holds per DAO and source
    ingest.sample           the bundled sample and how it was built
"""
