"""The console's tables (prefix ``cn_``), beside the decision store's.

Cases are what a scan found, imported once per scan (``cn_imports``); the
review queue, labels, revocation requests and the audit log are what analysts
did about them. The audit log is append-only: the code has no update or
delete for it, and a trigger refuses both on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)

from distillguard.decisions.store import UTCDateTime

metadata = MetaData()

users_t = Table(
    "cn_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    # Bumped on a password change or disable: older sessions stop working.
    Column("session_epoch", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
)

tokens_t = Table(
    "cn_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("cn_users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

imports_t = Table(
    "cn_imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(512), nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("data_end", UTCDateTime, nullable=True),
    Column("summary", JSON, nullable=False),
    Column("scrubbed_at", UTCDateTime, nullable=True),  # prompt quotes removed
)

campaigns_t = Table(
    "cn_campaigns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("cn_imports.id"), nullable=False),
    Column("campaign_id", String(128), nullable=False),
    Column("score", Float, nullable=False),
    Column("coordination", Float, nullable=True),
    Column("harvest", Float, nullable=True),
    Column("families", JSON, nullable=False),
    Column("requests", BigInteger, nullable=False),
    Column("n_accounts", Integer, nullable=False),
    Column("first_seen", UTCDateTime, nullable=True),
    Column("last_seen", UTCDateTime, nullable=True),
    Column("signals", JSON, nullable=False),
    Column("capability", JSON, nullable=False),
    Column("edges", JSON, nullable=False),
    UniqueConstraint("import_id", "campaign_id"),
)

accounts_t = Table(
    "cn_accounts",
    metadata,
    Column("import_id", Integer, ForeignKey("cn_imports.id"), primary_key=True),
    Column("account_id", String(256), primary_key=True),
    Column("score", Float, nullable=False),
    Column("own_score", Float, nullable=True),
    Column("action", String(16), nullable=False),
    Column("campaign_id", String(128), nullable=True),
    Column("tier", String(64), nullable=True),
    Column("requests", BigInteger, nullable=False, default=0),
    Column("reasons", JSON, nullable=False),
    Column("features", JSON, nullable=False),
    Index("ix_cn_accounts_account", "account_id"),
)

findings_t = Table(
    "cn_findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("cn_imports.id"), nullable=False),
    Column("detector", String(64), nullable=False),
    Column("family", String(32), nullable=False),
    Column("score", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("link", Text, nullable=True),
    Column("n_accounts", Integer, nullable=False),
)

finding_accounts_t = Table(
    "cn_finding_accounts",
    metadata,
    Column("finding_id", Integer, ForeignKey("cn_findings.id"), primary_key=True),
    Column("account_id", String(256), primary_key=True),
    Index("ix_cn_finding_accounts_account", "account_id"),
)

prompts_t = Table(
    "cn_prompts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("cn_imports.id"), nullable=False),
    Column("account_id", String(256), nullable=True, index=True),
    Column("campaign_key", Integer, ForeignKey("cn_campaigns.id"), nullable=True, index=True),
    Column("kind", String(16), nullable=False),  # prompt | wrapper
    Column("fingerprint", String(32), nullable=False),
    Column("n", BigInteger, nullable=False),
    Column("n_accounts", Integer, nullable=False),
    Column("first_seen", UTCDateTime, nullable=True),
    Column("last_seen", UTCDateTime, nullable=False, index=True),
    Column("text", Text, nullable=True),
    Column("redacted_at", UTCDateTime, nullable=True),
)

timelines_t = Table(
    "cn_timelines",
    metadata,
    Column("import_id", Integer, ForeignKey("cn_imports.id"), primary_key=True),
    Column("subject", String(300), primary_key=True),  # a:<account> | c:<campaign key>
    Column("hour", BigInteger, primary_key=True),  # epoch hour
    Column("n", BigInteger, nullable=False),
)

reviews_t = Table(
    "cn_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("cn_imports.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # account | campaign
    Column("subject", String(256), nullable=False),  # account id or campaign id
    Column("campaign_key", Integer, ForeignKey("cn_campaigns.id"), nullable=True),
    Column("score", Float, nullable=False),
    Column("proposed", String(16), nullable=True),  # a decision type, or None
    Column("summary", Text, nullable=False, default=""),
    Column("state", String(16), nullable=False, index=True),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("reason", Text, nullable=True),
    Column("decision_ids", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

labels_t = Table(
    "cn_labels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(256), nullable=False, index=True),
    Column("campaign_id", String(128), nullable=True),
    Column("source", String(16), nullable=False),  # review | appeal
    Column("reason", Text, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

revocations_t = Table(
    "cn_revocations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("account_id", String(256), nullable=False),
    Column("campaign_id", String(128), nullable=True),
    Column("state", String(16), nullable=False),  # requested | revoked | not-shared
    Column("detail", JSON, nullable=False),
)

audit_t = Table(
    "cn_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("reason", Text, nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
)

_SQLITE_GUARDS = [
    DDL(  # type: ignore[no-untyped-call]
        f"CREATE TRIGGER IF NOT EXISTS cn_audit_no_{op.lower()} BEFORE {op} ON cn_audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    ).execute_if(dialect="sqlite")
    for op in ("UPDATE", "DELETE")
]
_PG_GUARD = [
    DDL(  # type: ignore[no-untyped-call]
        "CREATE OR REPLACE FUNCTION cn_audit_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql"
    ).execute_if(dialect="postgresql"),
    DDL(  # type: ignore[no-untyped-call]
        "CREATE TRIGGER cn_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON cn_audit "
        "FOR EACH STATEMENT EXECUTE FUNCTION cn_audit_append_only()"
    ).execute_if(dialect="postgresql"),
]
for _ddl in (*_SQLITE_GUARDS, *_PG_GUARD):
    event.listen(audit_t, "after_create", _ddl)
