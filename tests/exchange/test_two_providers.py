"""Two providers attacked by one operation, A first: B with and without the
exchange on the same traffic, and B with a dishonest peer among its peers.
Also: nothing private leaves A in its bundles."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pyarrow.compute as pc
import pytest

from distillguard.engine.scan import scan
from distillguard.exchange import ExchangeStore, KeyRing, Mapper, Publisher, derive, publish
from distillguard.exchange.experiment import Experiment, run
from distillguard.exchange.sim import TwoProviders, two_providers
from distillguard.simulate import write

pytestmark = pytest.mark.slow


#: Small enough to replay three times in about a minute, large enough for a
#: swarm of about 60 accounts among 250 legitimate ones.
EVERY_S = 3600.0
POISON = 20


@pytest.fixture(scope="module")
def providers() -> TwoProviders:
    return two_providers(n_events=6_000, attack_events=3_000, days=2.0, seed=5)


@pytest.fixture(scope="module")
def experiment(providers: TwoProviders, tmp_path_factory: pytest.TempPathFactory) -> Experiment:
    return run(providers, tmp_path_factory.mktemp("exp"), poison=POISON, detect_every_s=EVERY_S)


def test_exchange_cuts_b_leakage_without_harm(experiment: Experiment) -> None:
    off, on = experiment.off, experiment.on
    assert experiment.indicators > 0
    assert on.leakage <= 0.75 * off.leakage, (off.leakage, on.leakage)
    assert on.attack_enforced >= off.attack_enforced
    assert on.time_to_detect_h is not None
    assert off.time_to_detect_h is None or on.time_to_detect_h <= off.time_to_detect_h
    assert on.benign_enforced <= off.benign_enforced


def test_imported_evidence_reaches_accounts_at_the_first_run(experiment: Experiment) -> None:
    off, on = experiment.off, experiment.on
    assert off.match_delay_h is None
    assert on.match_delay_h is not None and on.action_delay_h is not None
    # An account is matched by the first detection run after its first request.
    assert on.match_delay_h <= EVERY_S / 3600
    assert on.match_delay_h <= on.action_delay_h
    assert off.action_delay_h is None or on.action_delay_h <= off.action_delay_h
    # Fewer requests leak before the operation's first enforced action.
    assert on.leaked_before < off.leaked_before


def test_dishonest_peer_cannot_get_legitimate_customers_enforced(experiment: Experiment) -> None:
    poisoned = experiment.poisoned
    assert poisoned is not None and len(experiment.poisoned_accounts) == POISON
    hit = [a for a in experiment.poisoned_accounts if a in poisoned.ever_enforced]
    assert hit == []  # at no step of the replay, not only at its end
    assert poisoned.benign_enforced <= experiment.off.benign_enforced


def test_bundles_carry_no_private_data(providers: TwoProviders, tmp_path: Path) -> None:
    files = write(providers.a, tmp_path / "a")
    result = scan([files.events], accounts=files.accounts)
    keys = KeyRing.generate("k1")
    derived = derive(result.detection, result.state, keys)
    assert derived.indicators
    text = orjson.dumps(publish(ExchangeStore(), Mapper(Publisher.generate("A")), derived)).decode()
    ev = providers.a.events
    labels = providers.a.labels.to_pylist()
    campaign = {r["account_id"] for r in labels if r["campaign"]}
    accounts = providers.a.accounts.to_pylist()
    for r in accounts:
        assert r["account_id"] not in text
        for field in ("payment_fingerprint", "org_name"):
            if r[field] and len(r[field]) > 6:
                assert r[field] not in text
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text)  # no e-mail address
    for key in pc.unique(ev.column("api_key_id")).to_pylist():
        assert key is None or key not in text
    others = pc.invert(pc.is_in(ev.column("account_id"), pc.cast(list(campaign), "string")))
    quoted = set(re.findall(r"'([^']*)'|\"([^\"]*)\"", text))
    values = {a or b for a, b in quoted}
    for ip in pc.unique(ev.filter(others).column("ip")).to_pylist():
        assert ip is None or ip not in values
    words = re.findall(r"\S+", text)
    bundle_grams = {" ".join(words[i : i + 8]) for i in range(len(words) - 7)}
    for prompt in pc.unique(ev.column("prompt")).to_pylist():
        w = (prompt or "").split()
        for i in range(max(len(w) - 7, 0)):
            assert " ".join(w[i : i + 8]) not in bundle_grams
