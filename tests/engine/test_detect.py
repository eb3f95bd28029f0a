"""Owners the account table does not declare."""

from __future__ import annotations

import pyarrow as pa

from distillguard.engine.detect import INFERRED_OWNER_MAX, inferred_owners
from distillguard.engine.state import DetectionState
from distillguard.events.schema import ACCOUNT_SCHEMA


def test_a_handful_of_accounts_on_one_card_and_one_own_domain_are_one_organisation() -> None:
    rows: list[dict[str, object]] = []

    def add(prefix: str, n: int, pay: str | None, domain: str, **more: object) -> None:
        start = sum(r["account_id"].startswith(prefix) for r in rows)  # type: ignore[union-attr]
        for i in range(start, start + n):
            rows.append(
                {"account_id": f"{prefix}{i}", "payment_fingerprint": pay, "email_domain": domain}
                | more
            )

    add("acme", 2, "card-acme", "acme.io")
    add("acme", 1, "card-acme", "ACME.io")  # the domain as typed at sign-up
    add("gm", 2, "card-home", "gmail.com")  # a consumer domain is shared with strangers
    add("gm", 3, None, "gmail.com")
    add("op", INFERRED_OWNER_MAX + 2, "card-op", "op.example")  # more than a handful
    add("solo", 1, "card-solo", "solo.dev")
    add("split", 1, "card-a", "split.dev")  # one domain, two cards
    add("split", 1, "card-b", "split.dev")
    state = DetectionState()
    state.load_accounts(pa.Table.from_pylist(rows, schema=ACCOUNT_SCHEMA))
    owners = inferred_owners(state.context())
    assert owners == {f"acme{i}": "inferred: acme.io" for i in range(3)}
