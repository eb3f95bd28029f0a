"""What corroboration by independent peers means for one account's matches."""

from __future__ import annotations

from distillguard.exchange.detector import ExchangeDetector, _Match
from distillguard.exchange.model import Kind


def _match(corroborated: bool, peers: set[str]) -> _Match:
    return _Match(requests=100, support=1.0, corroborated=corroborated, peers=peers)


def _corroborated(kinds: dict[Kind, _Match]) -> bool:
    detector = ExchangeDetector.__new__(ExchangeDetector)  # _finding reads no state
    finding = detector._finding("acct", kinds, 100)
    assert finding is not None
    return bool(finding.evidence["corroborated"])


def test_peers_agreeing_on_the_operator_corroborate() -> None:
    assert _corroborated({Kind.PAYMENT: _match(True, {"A", "B"})})
    assert _corroborated({Kind.CIDR: _match(True, {"A", "B"}), Kind.PAYMENT: _match(False, {"B"})})


def test_peers_agreeing_on_a_client_or_public_problems_do_not_vouch_for_the_rest() -> None:
    """A peer names a customer's payment instrument; another peer only
    published the client library and the public problems this customer sends
    too: nothing that identifies an operator is corroborated."""
    kinds = {
        Kind.PAYMENT: _match(False, {"M"}),
        Kind.JA4: _match(True, {"A", "M"}),
        Kind.PROMPT_BAND: _match(True, {"A", "M"}),
        Kind.WRAPPER: _match(True, {"A", "M"}),
    }
    assert not _corroborated(kinds)


def test_a_disputed_value_spoils_corroboration() -> None:
    kinds = {Kind.PAYMENT: _match(True, {"A", "B"}), Kind.CIDR: _match(False, {"A"})}
    kinds[Kind.CIDR].disputed = True
    assert not _corroborated(kinds)
