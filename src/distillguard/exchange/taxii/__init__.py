"""TAXII 2.1: the built-in server and the polling client."""

from distillguard.exchange.taxii.client import PullResult, TaxiiClient, pull_peer
from distillguard.exchange.taxii.server import MEDIA_TYPE, create_app

__all__ = ["MEDIA_TYPE", "PullResult", "TaxiiClient", "create_app", "pull_peer"]
