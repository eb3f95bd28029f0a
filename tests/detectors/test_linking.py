"""Account linking: a sign-up bucket shared by unrelated groups ties neither
to the other."""

from __future__ import annotations

import pyarrow as pa

from distillguard.detectors.linking import AccountLinkingDetector
from distillguard.engine.state import DetectionState
from distillguard.events.schema import ACCOUNT_SCHEMA
from tests.conftest import make_events
from tests.detectors.scenario import CHAT, START

BUCKET = 600 * (int(START) // 600 - 200)  # a ten-minute bucket before the window
CHAIN = -1  # each of a group's accounts shares a network with the next


def _accounts(created: dict[str, float]) -> pa.Table:
    n = len(created)
    cols: dict[str, object] = {f.name: [None] * n for f in ACCOUNT_SCHEMA}
    cols |= {
        "account_id": list(created),
        "created_at": [int(t * 1e6) for t in created.values()],
        "email_domain": ["mail.example"] * n,
        "tier": ["free"] * n,
        "verified": [False] * n,
    }
    table = pa.table(
        {
            f.name: pa.array(cols[f.name], pa.int64() if f.name == "created_at" else f.type)
            for f in ACCOUNT_SCHEMA
        }
    )
    return table.set_column(
        1, "created_at", table.column("created_at").cast(ACCOUNT_SCHEMA.field("created_at").type)
    )


def _bursts(groups: list[tuple[str, int, int | None, int]]) -> list[frozenset[str]]:
    """Sign-up bursts found among 200 background accounts (one per bucket)
    and ``groups`` of (name, accounts, network: one for all, None for one
    per account or ``CHAIN``; bucket after the first), each created in one
    bucket."""
    created: dict[str, float] = {f"bg{i:03d}": BUCKET - 600.0 * (i + 1) for i in range(200)}
    ips = {a: (f"81.{i % 250}.{i // 250}.7",) * 2 for i, a in enumerate(created)}
    for g, n, network, bucket in groups:
        for k in range(n):
            a = f"{g}{k:02d}"
            created[a] = BUCKET + 600.0 * bucket + 10.0 * k + 1.0
            if network == CHAIN:
                ips[a] = (f"10.{200 + k}.77.1", f"10.{201 + k}.77.2")
            elif network is not None:
                ips[a] = (f"10.{network}.77.{k + 1}",) * 2
            else:
                ips[a] = (f"{100 + k}.{len(g)}.{k}.9",) * 2
    rows = [
        {
            "ts": START + 60.0 * i + j,
            "account_id": a,
            "ip": ips[a][j],
            "prompt": CHAT[(i + j) % len(CHAT)],
            "model": "m-large",
        }
        for i, a in enumerate(created)
        for j in range(2)
    ]
    state = DetectionState()
    state.load_accounts(_accounts(created))
    state.update(make_events(rows))
    found = AccountLinkingDetector().detect(state.context())
    return [frozenset(f.accounts) for f in found if str(f.link).startswith("signup:")]


def _named(prefix: str, n: int) -> frozenset[str]:
    return frozenset(f"{prefix}{k:02d}" for k in range(n))


def test_class_and_operation_in_one_bucket_are_two_bursts() -> None:
    bursts = _bursts([("class", 20, 1, 0), ("op", 12, None, 0)])
    assert sorted(bursts, key=len) == [_named("op", 12), _named("class", 20)]


def test_strays_beside_a_class_are_tied_to_nothing() -> None:
    bursts = _bursts([("class", 20, 1, 0), ("x", 3, None, 0)])
    assert bursts == [_named("class", 20)]


def test_a_class_signing_up_over_two_buckets_is_kept_apart_in_both() -> None:
    # The class's last few sign-ups fall into the operation's bucket.
    bursts = _bursts([("class", 20, 1, 0), ("late", 3, 1, 1), ("op", 9, None, 1)])
    assert _named("op", 9) in bursts
    assert not any(b & _named("late", 3) and b & _named("op", 9) for b in bursts)


def test_an_operation_behind_many_networks_stays_one_burst() -> None:
    assert _bursts([("op", 14, None, 0)]) == [_named("op", 14)]


def test_two_operations_from_many_networks_share_their_bucket() -> None:
    # Nothing tells two proxy-fronted groups apart: the bucket stays one burst.
    bursts = _bursts([("op", 8, None, 0), ("bop", 8, None, 0)])
    assert bursts == [_named("op", 8) | _named("bop", 8)]


def test_an_operation_from_one_network_is_one_burst() -> None:
    assert _bursts([("op", 14, 5, 0)]) == [_named("op", 14)]


def test_an_operation_sharing_proxy_exits_here_and_there_stays_one_burst() -> None:
    # Eight of the operation's accounts share exit networks two by two (each
    # with the next), six do not: no network is a place, nothing splits.
    bursts = _bursts([("op", 8, CHAIN, 0), ("bop", 6, None, 0)])
    assert bursts == [_named("op", 8) | _named("bop", 6)]


def test_a_client_recorded_by_half_links_too_weakly_to_tie() -> None:
    """A user agent without its TLS fingerprint (or the other way round) is
    most often a library's default that unrelated scripts share: it links
    two accounts, too weakly to tie or second a tie to a campaign."""
    from distillguard.detectors.linking import PARTIAL_CLIENT
    from distillguard.scoring.fuse import SECOND_LINK

    clients = {
        "a1": ("python-requests/2.32.3", None),
        "a2": ("python-requests/2.32.3", None),
        "b1": ("collector/0.9", "t13d1516h2_8daaf6152771_02713d6af862"),
        "b2": ("collector/0.9", "t13d1516h2_8daaf6152771_02713d6af862"),
        "c1": (None, "t13d1715h2_5b57614c22b0_3d5424432f57"),
        "c2": (None, "t13d1715h2_5b57614c22b0_3d5424432f57"),
    }
    clients |= {f"bg{i:02d}": (f"app/{i}", f"t13d{i:04d}h2_x") for i in range(30)}
    rows = [
        {
            "ts": START + 60.0 * i + j,
            "account_id": a,
            "ip": f"81.{i}.{j}.7",
            "user_agent": ua,
            "tls_fingerprint": tls,
            "prompt": CHAT[(i + j) % len(CHAT)],
            "model": "m-large",
        }
        for i, (a, (ua, tls)) in enumerate(clients.items())
        for j in range(2)
    ]
    state = DetectionState()
    state.update(make_events(rows))
    found = {
        frozenset(f.accounts): f
        for f in AccountLinkingDetector().detect(state.context())
        if str(f.link).startswith("client:")
    }
    whole = found[frozenset({"b1", "b2"})]
    assert whole.score == 0.35 and "user agent and TLS fingerprint" in whole.reason
    for half in ({"a1", "a2"}, {"c1", "c2"}):
        f = found[frozenset(half)]
        assert f.score == PARTIAL_CLIENT < SECOND_LINK
        assert "the other unrecorded" in f.reason
