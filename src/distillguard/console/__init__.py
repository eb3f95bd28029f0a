"""The analyst console: campaigns and their evidence, the review queue,
appeals, the exchange, and the audit log, behind local users and roles.

    scan ──► cases_from_scan ──► CaseStore (cn_* tables) ──► pages / JSON API
                                        review: approve ──► DecisionStore ──► stream
                                        appeal: revert  ──► DecisionStore, revocation request
                                        every change ──► audit log (append-only)
"""

from distillguard.console.app import ConsoleContext, create_console_app, open_context
from distillguard.console.audit import AuditLog
from distillguard.console.auth import User, Users
from distillguard.console.cases import CaseStore, ImportSummary
from distillguard.console.collect import CASES_SCHEMA, cases_from_report, cases_from_scan
from distillguard.console.retention import RetentionResult, apply_retention
from distillguard.console.review import ReviewService
from distillguard.console.settings import ROLES, ConsoleSettings

__all__ = [
    "CASES_SCHEMA",
    "ROLES",
    "AuditLog",
    "CaseStore",
    "ConsoleContext",
    "ConsoleSettings",
    "ImportSummary",
    "RetentionResult",
    "ReviewService",
    "User",
    "Users",
    "apply_retention",
    "cases_from_report",
    "cases_from_scan",
    "create_console_app",
    "open_context",
]
