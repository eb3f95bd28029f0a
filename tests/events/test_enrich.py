from __future__ import annotations

import numpy as np
import pytest

from distillguard.events import lookup_ip, sample_ips


def test_known_addresses():
    google = lookup_ip("8.8.8.8")
    assert google is not None
    assert (google.country, google.asn, google.asn_org, google.hosting) == (
        "US",
        15169,
        "GOOGLE",
        True,
    )
    comcast = lookup_ip("73.15.2.3")  # Comcast residential
    assert comcast is not None and comcast.hosting is False and comcast.asn == 7922
    hetzner = lookup_ip("2a01:4f8::1")
    assert hetzner is not None and hetzner.hosting is True and hetzner.country == "DE"


def test_malformed_and_private():
    assert lookup_ip("1.2.3") is None
    assert lookup_ip("01.2.3.4") is None  # leading zeros, as ipaddress
    private = lookup_ip("10.1.2.3")
    assert private is not None and private.country is None and private.hosting is None


@pytest.mark.parametrize("kind", ["hosting", "residential"])
def test_sample_ips_are_real_and_deterministic(kind):
    a = sample_ips(kind, "DE", 50, np.random.default_rng(7))
    b = sample_ips(kind, "DE", 50, np.random.default_rng(7))
    assert a == b and len(set(a)) > 40
    for ip in a:
        info = lookup_ip(ip)
        assert info is not None and info.country == "DE"
        assert info.hosting is (kind == "hosting")


def test_sample_ips_errors():
    with pytest.raises(ValueError, match="kind"):
        sample_ips("cloud", None, 1, np.random.default_rng(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no hosting network"):
        sample_ips("hosting", "QQ", 1, np.random.default_rng(0))
