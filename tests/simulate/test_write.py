from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from distillguard.simulate import SimResult, write
from distillguard.simulate.cli import app, simulate_command


@pytest.fixture(scope="module")
def written(small: SimResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    write(small, out)
    return out


def test_files_and_json_lines(small: SimResult, written: Path) -> None:
    names = {p.name for p in written.iterdir()}
    assert names == {"events.jsonl.gz", "accounts.jsonl", "labels.csv", "manifest.json"}
    with gzip.open(written / "events.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    assert len(rows) == small.events.num_rows
    first = rows[0]
    assert first["ts"].endswith("Z") and "T" in first["ts"]
    assert first["request_id"] == small.events.column("request_id")[0].as_py()
    assert all(("prompt" in r) != ("messages" in r) for r in rows)
    assert not any(v is None for r in rows for v in r.values())
    assert not any(v is None for r in rows for v in r.get("params", {}).values())
    unknown = {k for r in rows for k in r} - {
        "ts",
        "account_id",
        "request_id",
        "api_key_id",
        "ip",
        "user_agent",
        "tls_fingerprint",
        "model",
        "endpoint",
        "prompt",
        "messages",
        "system_prompt",
        "params",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "status",
        "latency_ms",
    }
    assert unknown and unknown <= {"user", "service_tier"}
    manifest = json.loads((written / "manifest.json").read_text())
    assert manifest["events"] == len(rows)


def test_written_files_pass_ingest(small: SimResult, written: Path, tmp_path: Path) -> None:
    events = pytest.importorskip("distillguard.events")
    from distillguard.engine.evaluate import read_labels

    reader = events.read_events([written / "events.jsonl.gz"])
    batches = list(reader)
    assert reader.summary.accepted == small.events.num_rows
    assert reader.summary.rejected == 0 and reader.summary.duplicates == 0
    table = pa.Table.from_batches(batches)
    turns = table.column("user_turns").to_numpy()
    assert turns.max() > 1
    accounts, rejects = events.read_accounts(written / "accounts.jsonl")
    assert accounts.num_rows == small.accounts.num_rows and rejects.num_rows == 0
    labels = read_labels(written / "labels.csv")
    assert labels.num_rows == small.labels.num_rows
    assert labels.column("campaign").null_count == labels.num_rows - sum(
        labels.column("malicious").to_pylist()
    )

    write(small, tmp_path, fmt="parquet")
    reader = events.read_events([tmp_path / "events.parquet"])
    list(reader)
    assert reader.summary.accepted == small.events.num_rows and reader.summary.rejected == 0


def test_unknown_format(small: SimResult, tmp_path: Path) -> None:
    from distillguard import ConfigError

    with pytest.raises(ConfigError):
        write(small, tmp_path, fmt="csv")


def test_command(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        app,
        [
            "--out",
            str(out),
            "--events",
            "4000",
            "--days",
            "1",
            "--seed",
            "5",
            "--scale",
            "router=0",
            "--campaigns",
            "proxy_swarm=3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "proxy_swarm-3" in result.output and "total" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert "router" not in {p["population"] for p in manifest["populations"]}
    bad = CliRunner().invoke(app, ["--out", str(out), "--scale", "nobody=2"])
    assert bad.exit_code == 2


def test_command_function(tmp_path: Path) -> None:
    files = simulate_command(tmp_path, events=3000, seed=1, fmt="parquet", corpora=None, days=1)
    assert files.events.name == "events.parquet" and files.events.exists()
