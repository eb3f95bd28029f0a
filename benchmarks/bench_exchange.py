"""Exchange at scale: export and import of 1,000,000 indicators (seconds,
peak RSS, each step in a fresh process), and what matching a million
imported values adds to scan time.

    python benchmarks/bench_exchange.py --indicators 1000000 --events 250000
    python benchmarks/bench_exchange.py --two-providers 15000 6000 [--detect-every 900]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import dataset, events_file, measured
from rich.console import Console
from rich.table import Table

EXPORT = """
import time, random
from datetime import UTC, datetime, timedelta
import orjson
from distillguard.exchange import CampaignIntel, Indicator, KeyRing, Kind, Mapper, Publisher
from distillguard.exchange.derive import Derived
from distillguard.exchange.publish import build_publication
from distillguard.exchange.stix import bundle, definitions, tlp_marking

n = {n}
now = datetime.now(UTC)
keys = KeyRing.generate("k1")
keys.save({keyring!r})
pub = Publisher.generate("Provider A")
pub.save({signing!r})
rng = random.Random(7)
kinds = [Kind.PROMPT_BAND] * 6 + [Kind.WRAPPER, Kind.CIDR, Kind.PAYMENT, Kind.JA4]
def value(kind, i):
    if kind is Kind.CIDR:
        return f"10.{{(i >> 16) & 255}}.{{(i >> 8) & 255}}.0/24"
    if kind is Kind.JA4:
        return f"t13d1516h2_{{i:012x}}_e5627efa2ab1"
    return f"{{rng.getrandbits(64):016x}}"
t0 = time.perf_counter()
camps = [CampaignIntel(f"cmp_{{j}}", "", now - timedelta(days=1), now, 80, 10, 1000) for j in range(500)]
mapper = Mapper(pub)
objects = 0
sign = write = 0.0
# Publications of {per:,} indicators each, as a provider would publish them.
for part, start in enumerate(range(0, n, {per})):
    inds = [
        Indicator(f"cmp_{{i % 500}}", k, (value(k, i),), 80, now, now + timedelta(days=30),
                  "k1" if k.keyed else None, chunk=i)
        for i, k in ((i, kinds[i % len(kinds)]) for i in range(start, min(n, start + {per})))
    ]
    t1 = time.perf_counter()
    objs = build_publication(mapper, Derived(camps if part == 0 else [], inds), now=now)
    t2 = time.perf_counter()
    with open(f"{bundle_path}.{{part}}", "wb") as fh:
        fh.write(orjson.dumps(bundle([*definitions(), tlp_marking(mapper.tlp), *objs])))
    write += time.perf_counter() - t2
    sign += t2 - t1
    objects += len(objs)
    del objs, inds
result = {{"seconds": time.perf_counter() - t0, "map_and_sign": sign, "write": write,
          "objects": objects, "parts": part + 1}}
"""

IMPORT = """
import time
import orjson
from distillguard.exchange import ExchangeStore, Publisher, import_objects, trust_view
from distillguard.exchange.config import ExchangeConfig, PeerConfig
from distillguard.exchange.signing import public_key_text
pub = Publisher.load("Provider A", {signing!r})
peer = PeerConfig(name="Provider A", public_key=public_key_text(pub.public_key), trust=0.7)
cfg = ExchangeConfig.model_validate({{"provider": "B", "signing_key": "x", "keyring": "x",
                                      "peers": [peer.model_dump()]}})
import glob
store = ExchangeStore({store!r})
t0 = time.perf_counter()
parse = accepted = rejected = 0
for path in sorted(glob.glob({bundle_path!r} + ".*"), key=lambda p: int(p.rsplit(".", 1)[1])):
    t1 = time.perf_counter()
    objects = orjson.loads(open(path, "rb").read())["objects"]
    parse += time.perf_counter() - t1
    r = import_objects(store, peer, objects)
    accepted += r.accepted
    rejected += len(r.rejected)
    del objects
t2 = time.perf_counter()
view = trust_view(store, cfg)
t3 = time.perf_counter()
result = {{"seconds": t2 - t0, "parse": parse, "trust_view": t3 - t2, "accepted": accepted,
          "rejected": rejected, "values": len(view.values)}}
"""

SCAN = """
import resource, time
from distillguard.detectors import default_detectors
from distillguard.engine.scan import scan
from distillguard.exchange import ExchangeDetector, ExchangeStore, KeyRing, trust_view
from distillguard.exchange.config import ExchangeConfig, PeerConfig
def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
extra = []
t0 = time.perf_counter()
if {exchange}:
    peer = PeerConfig(name="Provider A", public_key="{public}", trust=0.7)
    cfg = ExchangeConfig.model_validate({{"provider": "B", "signing_key": "x", "keyring": "x",
                                          "peers": [peer.model_dump()]}})
    view = trust_view(ExchangeStore({store!r}), cfg)
    extra = [ExchangeDetector(view, KeyRing.load({keyring!r}))]
view_s, view_mb = time.perf_counter() - t0, rss_mb()
t0 = time.perf_counter()
r = scan([{events!r}], accounts={accounts!r}, detectors=default_detectors() + extra)
elapsed = time.perf_counter() - t0
result = {{"seconds": elapsed, "exchange": r.timings.get("detector:exchange", 0.0),
          "view_s": view_s, "view_peak_mb": view_mb, "view_table_mb": view.table.nbytes / 2**20
          if extra else 0.0}}
"""


def two_providers(
    console: Console, legit: int, attack: int, poison: int, every: float, seed: int
) -> None:
    """B's leakage, time to detect and harm with the exchange off and on, and
    with a dishonest peer matching ``poison`` of B's legitimate customers;
    detection runs every ``every`` seconds of event time."""
    from distillguard.exchange.experiment import run
    from distillguard.exchange.sim import two_providers as simulate

    tp = simulate(n_events=legit, attack_events=attack, days=2.0, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        e = run(tp, Path(tmp), poison=poison, detect_every_s=every)
    table = Table(
        title=f"provider B: {legit:,} legitimate + about {attack:,} attack requests, "
        f"detection every {every / 60:g} min"
    )
    cols = (
        "exchange",
        "leakage",
        "leaked: opened before / after first action",
        "time to detect (h)",
        "median h to match / to action",
        "attack enforced",
        "legit enforced",
    )
    for col in cols:
        table.add_column(col, justify="right")
    rows = [("off", e.off), ("on", e.on)]
    if e.poisoned is not None:
        rows.append((f"on + dishonest peer ({poison} targets)", e.poisoned))
    for name, o in rows:
        ttd = "-" if o.time_to_detect_h is None else f"{o.time_to_detect_h:.1f}"
        table.add_row(
            name,
            f"{o.leakage:.1%}",
            f"{o.leaked_before:,} / {o.leaked_after:,}",
            ttd,
            f"{_h(o.match_delay_h)} / {_h(o.action_delay_h)}",
            f"{o.attack_enforced}/{o.attack_accounts}",
            f"{o.benign_enforced}/{o.benign_accounts}",
        )
    console.print(table)
    if e.poisoned is not None:
        hit = [a for a in e.poisoned_accounts if a in e.poisoned.ever_enforced]
        console.print(
            f"targets of the dishonest peer throttled/degraded/suspended at some step: {len(hit)}"
        )
    cut = 1 - e.on.leakage / e.off.leakage if e.off.leakage else 0.0
    console.print(
        f"B's leakage {cut:.0%} lower with the exchange on ({e.indicators:,} values shared)"
    )


def _h(hours: float | None) -> str:
    return "-" if hours is None else f"{hours:.1f}"


def _secs(runs: list[dict[str, object]]) -> str:
    return ", ".join(f"{float(r['seconds']):.1f}" for r in runs)  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--indicators", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=250_000)
    ap.add_argument("--per-publication", type=int, default=100_000)
    ap.add_argument("--two-providers", type=int, nargs=2, metavar=("LEGIT", "ATTACK"))
    ap.add_argument("--poison", type=int, default=40)
    ap.add_argument("--detect-every", type=float, default=900.0, help="seconds of event time")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=2, help="scan runs with and without")
    args = ap.parse_args()
    console = Console(width=160)
    if args.two_providers:
        two_providers(console, *args.two_providers, args.poison, args.detect_every, args.seed)
        return
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        paths = {
            "keyring": str(d / "ring.json"),
            "signing": str(d / "signing.pem"),
            "bundle_path": str(d / "bundle.json"),
            "store": str(d / "exchange.db"),
        }
        exp = measured(EXPORT.format(n=args.indicators, per=args.per_publication, **paths))
        console.print(f"export: {exp}")
        imp = measured(IMPORT.format(**paths))
        console.print(f"import: {imp}")
        from distillguard.exchange import Publisher
        from distillguard.exchange.signing import public_key_text

        public = public_key_text(Publisher.load("Provider A", paths["signing"]).public_key)
        data = dataset(args.events)
        common = {
            "events": str(events_file(data)),
            "accounts": str(data / "accounts.jsonl"),
            "public": public,
            "store": paths["store"],
            "keyring": paths["keyring"],
        }
        # Off and on alternate, each in a fresh process; the fastest run of
        # each counts (the machine is shared: the slowest runs measure others).
        runs: dict[bool, list[dict[str, object]]] = {False: [], True: []}
        for _ in range(args.repeat):
            for flag in (False, True):
                runs[flag].append(measured(SCAN.format(exchange=flag, **common)))
        off = min(runs[False], key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
        on = min(runs[True], key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
    table = Table(title=f"exchange: {args.indicators:,} indicators")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("peak RSS MB", justify="right")
    table.add_row("export (map, sign, write)", f"{exp['seconds']:.1f}", f"{exp['peak_rss_mb']:.0f}")
    table.add_row(
        "import (parse, verify, store)", f"{imp['seconds']:.1f}", f"{imp['peak_rss_mb']:.0f}"
    )
    table.add_row("trust view of imported values", f"{imp['trust_view']:.1f}", "")
    table.add_row(
        "trust view, in the scan process (peak / table)",
        f"{float(on['view_s']):.1f}",
        f"{float(on['view_peak_mb']):.0f} / {float(on['view_table_mb']):.0f}",
    )
    table.add_row(
        f"scan {args.events:,} events", f"{off['seconds']:.1f}", f"{off['peak_rss_mb']:.0f}"
    )
    table.add_row(
        f"scan {args.events:,} events + exchange",
        f"{on['seconds']:.1f}",
        f"{on['peak_rss_mb']:.0f}",
    )
    console.print(table)
    ratio = float(on["seconds"]) / float(off["seconds"])
    console.print(
        f"matching {imp['values']:,} imported values: exchange detector "
        f"{float(on['exchange']):.1f} s, {float(on['exchange']) / float(off['seconds']):.1%} of scan "
        f"time; scan wall-clock on/off {ratio:.3f} ({ratio - 1:+.1%}; target <= +10%); "
        f"peak RSS {float(on['peak_rss_mb']) - float(off['peak_rss_mb']):+.0f} MB "
        f"(runs off: {_secs(runs[False])} s; on: {_secs(runs[True])} s)"
    )


if __name__ == "__main__":
    main()
