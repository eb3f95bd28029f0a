from __future__ import annotations

import distillguard.signals as signals


def test_public_names() -> None:
    assert set(signals.__all__) == {
        "AREAS",
        "KINDS",
        "LANGS",
        "NUM_BANDS",
        "NUM_PERM",
        "SIGNAL_SCHEMA",
        "FingerprintIndex",
        "WrapperIndex",
        "analyze_prompts",
        "capability_area",
        "language",
        "normalize",
    }
    for name in signals.__all__:
        assert hasattr(signals, name)
