"""Decisions: what enforcers do to whom, until when, and why.

``model`` defines the record, ``matcher`` the in-memory index enforcers check
requests against, ``policy`` the allowlists and standing bans, ``store`` the
database and its change stream, ``client`` the puller enforcers run against a
remote decision service, ``api`` the decision service itself, ``rediscache``
and ``mirror`` the copy of the live decisions in Redis that gateway replicas
follow.
"""

from distillguard.decisions._errors import StoreError, StreamError
from distillguard.decisions.client import DecisionStreamClient
from distillguard.decisions.matcher import DecisionMatcher, RequestContext, Verdict
from distillguard.decisions.model import (
    DEFAULT_THROTTLE,
    Decision,
    DecisionType,
    Origin,
    Scope,
    ThrottleParams,
)
from distillguard.decisions.policy import (
    Allowlist,
    Jurisdiction,
    Ownership,
    Policies,
    PolicyConfig,
    load_policy_config,
)

__all__ = [
    "DEFAULT_THROTTLE",
    "Allowlist",
    "Decision",
    "DecisionMatcher",
    "DecisionStreamClient",
    "DecisionType",
    "Jurisdiction",
    "Origin",
    "Ownership",
    "Policies",
    "PolicyConfig",
    "RequestContext",
    "Scope",
    "StoreError",
    "StreamError",
    "ThrottleParams",
    "Verdict",
    "load_policy_config",
]
