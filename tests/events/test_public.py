import distillguard.events as events


def test_public_names():
    assert set(events.__all__) == {
        "ACCOUNT_SCHEMA",
        "ALL_FIXED_REASONS",
        "EVENT_SCHEMA",
        "FORMATS",
        "LABEL_SCHEMA",
        "MAX_RECORD_BYTES",
        "MAX_REJECTS",
        "RAW_CHARS",
        "REJECT_SCHEMA",
        "TURN_SEPARATOR",
        "EventReader",
        "IngestSummary",
        "IpInfo",
        "Reason",
        "SourceSummary",
        "detect_format",
        "lookup_ip",
        "read_accounts",
        "read_events",
        "sample_ips",
    }
    for name in events.__all__:
        assert getattr(events, name) is not None
