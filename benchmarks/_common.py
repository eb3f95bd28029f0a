"""Shared by the benchmarks: simulated datasets cached on disk, and running a
measured step in a fresh process so that peak RSS belongs to that step only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench-out"


def corpora() -> Path | None:
    env = os.environ.get("DISTILLGUARD_CORPORA")
    path = Path(env) if env else ROOT.parent / "shared" / "corpora"
    return path if (path / "harvest_tasks.jsonl").exists() else None


def dataset(n_events: int, *, days: float = 7.0, seed: int = 1, fmt: str = "jsonl") -> Path:
    """A simulated dataset of about ``n_events`` (generated once, then reused)."""
    from distillguard import __version__

    corp = corpora()
    source = "full" if corp else "embedded"
    tag = f"sim-v{__version__}-{_simulator_digest()}-{n_events}-{days:g}d-s{seed}-{source}-{fmt}"
    out = OUT / tag
    if (out / "manifest.json").exists():
        return out
    code = f"""
        from pathlib import Path
        from distillguard.simulate import SimConfig, generate, write
        cfg = SimConfig.benchmark(n_events={n_events}, days={days}, seed={seed},
                                  corpora={str(corp)!r} if {corp is not None} else None)
        write(generate(cfg), Path({str(out)!r}), fmt={fmt!r})
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True)
    return out


def measured(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it must set ``result`` (a dict).
    Returns it with ``peak_rss_mb`` added."""
    wrapper = textwrap.dedent(code) + textwrap.dedent(
        """
        import json, resource, sys
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sys.stdout.write("\\n@@RESULT@@" + json.dumps(result) + "\\n")
        """
    )
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-30:])
        raise SystemExit(f"measured step failed (exit {proc.returncode}):\n{tail}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("@@RESULT@@"))
    return dict(json.loads(line[len("@@RESULT@@") :]))


def _simulator_digest() -> str:
    """A short hash of the simulator's code: a cached dataset is reused only
    by the simulator that wrote it."""
    import hashlib

    import distillguard.simulate as simulate

    digest = hashlib.sha1()
    for path in sorted(Path(simulate.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def events_file(data: Path) -> Path:
    for name in ("events.jsonl.gz", "events.jsonl", "events.parquet"):
        if (data / name).exists():
            return data / name
    raise FileNotFoundError(f"no events file in {data}")
