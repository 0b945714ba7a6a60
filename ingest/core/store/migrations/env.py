"""Alembic environment: Concord runs migrations programmatically (see ingest.core.store.migrate)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import ingest.core.domain  # noqa: F401 - registers every table on SQLModel.metadata
from ingest.core.domain import UTCDateTime

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the programmatic path is supported
    raise RuntimeError("Run migrations through `concord init` (ingest.core.store.migrate), not the alembic CLI.")



def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """New revisions spell the domain's UTCDateTime as the column it is: ``sa.DateTime(timezone=True)``."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
