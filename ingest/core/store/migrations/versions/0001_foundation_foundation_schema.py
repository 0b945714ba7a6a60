"""foundation schema

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entry_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_hash"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_action"), ["action"], unique=False)

    op.create_table(
        "dao",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("snapshot_space", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("forum_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("chain_id", sa.Integer(), nullable=True),
        sa.Column("governor_address", sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dao", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dao_slug"), ["slug"], unique=True)

    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dao_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("locator", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dao_id"],
            ["dao.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dao_id", "kind", "locator", name="uq_source_natural"),
    )
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_dao_id"), ["dao_id"], unique=False)

    op.create_table(
        "author",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("handle", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True),
        sa.Column("address_evidence", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "handle", name="uq_author_natural"),
    )
    with op.batch_alter_table("author", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_author_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_author_source_id"), ["source_id"], unique=False)

    op.create_table(
        "ingest_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "stream", name="uq_cursor_natural"),
    )
    with op.batch_alter_table("ingest_cursor", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_cursor_source_id"), ["source_id"], unique=False)

    op.create_table(
        "proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dao_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("voting_type", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("end", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("scores_total", sa.Float(), nullable=True),
        sa.Column("scores_state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("quorum", sa.Float(), nullable=True),
        sa.Column("voter_count", sa.Integer(), nullable=True),
        sa.Column("discussion_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dao_id"],
            ["dao.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dao_id", "external_id", name="uq_proposal_natural"),
    )
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_dao_id"), ["dao_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposal_end"), ["end"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposal_source_id"), ["source_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposal_start"), ["start"], unique=False)

    op.create_table(
        "quarantined_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("record_kind", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("external_ref", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quarantined_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantined_record_source_id"), ["source_id"], unique=False)

    op.create_table(
        "thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("bumped_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_post_number", sa.Integer(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "external_id", name="uq_thread_natural"),
    )
    with op.batch_alter_table("thread", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_thread_source_id"), ["source_id"], unique=False)

    op.create_table(
        "post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("reply_to_number", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("edited_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ingested_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["author.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "external_id", name="uq_post_natural"),
    )
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_post_content_hash"), ["content_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_post_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_post_source_id"), ["source_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_post_thread_id"), ["thread_id"], unique=False)

    op.create_table(
        "vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("voter", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("choice", sa.JSON(), nullable=True),
        sa.Column("choice_label", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("voting_power", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proposal_id", "voter", name="uq_vote_natural"),
    )
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vote_proposal_id"), ["proposal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vote_voter"), ["voter"], unique=False)

    op.create_table(
        "proposal_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("evidence", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["post.id"],
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proposal_id", "thread_id", "post_id", "method", name="uq_link_natural"),
    )
    with op.batch_alter_table("proposal_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_link_post_id"), ["post_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposal_link_proposal_id"), ["proposal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposal_link_thread_id"), ["thread_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("proposal_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_link_thread_id"))
        batch_op.drop_index(batch_op.f("ix_proposal_link_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_proposal_link_post_id"))

    op.drop_table("proposal_link")
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vote_voter"))
        batch_op.drop_index(batch_op.f("ix_vote_proposal_id"))

    op.drop_table("vote")
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_thread_id"))
        batch_op.drop_index(batch_op.f("ix_post_source_id"))
        batch_op.drop_index(batch_op.f("ix_post_created_at"))
        batch_op.drop_index(batch_op.f("ix_post_content_hash"))
        batch_op.drop_index(batch_op.f("ix_post_author_id"))

    op.drop_table("post")
    with op.batch_alter_table("thread", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thread_source_id"))

    op.drop_table("thread")
    with op.batch_alter_table("quarantined_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_record_source_id"))

    op.drop_table("quarantined_record")
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_start"))
        batch_op.drop_index(batch_op.f("ix_proposal_source_id"))
        batch_op.drop_index(batch_op.f("ix_proposal_end"))
        batch_op.drop_index(batch_op.f("ix_proposal_dao_id"))

    op.drop_table("proposal")
    with op.batch_alter_table("ingest_cursor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_cursor_source_id"))

    op.drop_table("ingest_cursor")
    with op.batch_alter_table("author", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_author_source_id"))
        batch_op.drop_index(batch_op.f("ix_author_address"))

    op.drop_table("author")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_dao_id"))

    op.drop_table("source")
    with op.batch_alter_table("dao", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dao_slug"))

    op.drop_table("dao")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_action"))

    op.drop_table("audit_entry")
