"""The identity provider's schema as ``Base.metadata.create_all`` made it before migrations.

Revision ID: 0001
Revises: (none)

A database made by ``create_all`` (no ``alembic_version`` table) is adopted by this revision rather
than recreated: a table that already exists is left as it is, with its rows, and only the tables
such a database lacks are created (one from before ``applied_tenant`` existed, say). On an empty
database this creates everything. Later revisions are ordinary Alembic migrations.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _create_table(name: str, *elements: sa.Column[object] | sa.Constraint) -> bool:
    """``op.create_table`` unless the table exists (a database made before migrations)."""
    if sa.inspect(op.get_bind()).has_table(name):
        return False
    op.create_table(name, *elements)
    return True


def upgrade() -> None:
    # the tenant model (applied from gatehold.yaml)
    _create_table(
        "resource_servers",
        sa.Column("identifier", sa.String(length=512), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("signing_alg", sa.String(length=8), nullable=False),
        sa.Column("signing_secret", sa.Text(), nullable=True),
        sa.Column("token_lifetime", sa.Integer(), nullable=False),
        sa.Column("token_lifetime_for_web", sa.Integer(), nullable=True),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("enforce_policies", sa.Boolean(), nullable=False),
        sa.Column("token_dialect", sa.String(length=32), nullable=False),
        sa.Column("allow_offline_access", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("identifier"),
    )
    _create_table(
        "clients",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("app_type", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=160), nullable=True),
        sa.Column("callbacks", sa.JSON(), nullable=False),
        sa.Column("allowed_logout_urls", sa.JSON(), nullable=False),
        sa.Column("web_origins", sa.JSON(), nullable=False),
        sa.Column("allowed_origins", sa.JSON(), nullable=False),
        sa.Column("grant_types", sa.JSON(), nullable=False),
        sa.Column("refresh_token", sa.JSON(), nullable=False),
        sa.Column("id_token_lifetime", sa.Integer(), nullable=False),
        sa.Column("connections", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("client_id"),
    )
    _create_table(
        "client_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("audience", sa.String(length=512), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "audience"),
    )
    _create_table(
        "connections",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    _create_table(
        "roles",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    _create_table(
        "users",
        sa.Column("user_id", sa.String(length=160), nullable=False),
        sa.Column("connection", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("app_metadata", sa.JSON(), nullable=False),
        sa.Column("user_metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("connection", "email"),
    )
    _create_table(
        "user_roles",
        sa.Column("user_id", sa.String(length=160), nullable=False),
        sa.Column("role", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "role"),
    )
    # runtime state
    _create_table(
        "applied_tenant",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("fingerprint_hash", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    _create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kid"),
    )
    _create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("user_id", sa.String(length=160), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("grant", sa.JSON(), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.Integer(), nullable=True),
        sa.Column("issued_family", sa.String(length=64), nullable=True),
        sa.Column("issued_jti", sa.String(length=64), nullable=True),
        sa.Column("issued_exp", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    if _create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("family_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=160), nullable=False),
        sa.Column("grant", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=True),
        sa.Column("idle_expires_at", sa.Integer(), nullable=True),
        sa.Column("rotated_at", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    ):
        op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"], unique=False)
        op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"], unique=False)
    _create_table(
        "revoked_access_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    _create_table(
        "sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=160), nullable=False),
        sa.Column("auth_time", sa.Integer(), nullable=False),
        sa.Column("last_seen", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("session_hash"),
    )
    _create_table(
        "login_transactions",
        sa.Column("tx_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tx_hash"),
    )


def downgrade() -> None:
    raise NotImplementedError("Gatehold never downgrades a database: restore a backup instead")
