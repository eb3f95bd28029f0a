"""The enforcement gateway: an OpenAI-compatible reverse proxy that applies
decisions (block, suspend, throttle, degrade) and feeds its traffic back to
detection through a durable spool. See ``docs/gateway.md``."""

from distillguard.gateway.app import Gateway
from distillguard.gateway.config import GatewayConfig, load_config
from distillguard.gateway.keys import KeyMap, Principal
from distillguard.gateway.mock import MockConfig, MockServer
from distillguard.gateway.spool import Position, SpoolReader, SpoolWriter

__all__ = [
    "Gateway",
    "GatewayConfig",
    "KeyMap",
    "MockConfig",
    "MockServer",
    "Position",
    "Principal",
    "SpoolReader",
    "SpoolWriter",
    "load_config",
]
