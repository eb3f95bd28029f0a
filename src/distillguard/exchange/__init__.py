"""Signal exchange between providers: keyed fingerprints, STIX 2.1 over
TAXII 2.1, signatures, trust and poisoning resistance.

    detection ──► derive ──► Mapper (STIX) ──► signed publication ──► TAXII
    peers ──► TAXII client ──► import (verify) ──► store ──► trust view
          ──► ExchangeDetector (family EXCHANGE) ──► scoring
"""

from distillguard.exchange.config import ExchangeConfig, PeerConfig, load_config
from distillguard.exchange.derive import Derived, DeriveOptions, derive
from distillguard.exchange.detector import ExchangeDetector
from distillguard.exchange.errors import ExchangeError, PeerError, SignatureError
from distillguard.exchange.importer import ImportResult, import_objects
from distillguard.exchange.keys import ConsortiumKey, KeyRing
from distillguard.exchange.model import CampaignIntel, Indicator, Kind, OpinionValue, Tlp
from distillguard.exchange.publish import build_publication, feedback_objects, publish
from distillguard.exchange.signing import Publisher
from distillguard.exchange.stix import Mapper
from distillguard.exchange.store import ExchangeStore
from distillguard.exchange.trust import TrustView, trust_view

__all__ = [
    "CampaignIntel",
    "ConsortiumKey",
    "DeriveOptions",
    "Derived",
    "ExchangeConfig",
    "ExchangeDetector",
    "ExchangeError",
    "ExchangeStore",
    "ImportResult",
    "Indicator",
    "KeyRing",
    "Kind",
    "Mapper",
    "OpinionValue",
    "PeerConfig",
    "PeerError",
    "Publisher",
    "SignatureError",
    "Tlp",
    "TrustView",
    "build_publication",
    "derive",
    "feedback_objects",
    "import_objects",
    "load_config",
    "publish",
    "trust_view",
]
