"""The live loop: the gateway's spooled traffic, detected on incrementally,
decided on, and enforced by the gateway through the decision stream.

``DetectionLoop`` tails the spool into a persistent detection state (exactly
once across crashes) and publishes account decisions; ``LiveService`` runs the
loop with the gateway and the decision service (``distillguard serve``).
"""

from distillguard.live.config import LoopConfig, ServeConfig, load_serve_config
from distillguard.live.loop import CycleStats, DetectionLoop
from distillguard.live.publish import DecisionPublisher, PublishResult
from distillguard.live.state import LiveState

__all__ = [
    "CycleStats",
    "DecisionPublisher",
    "DetectionLoop",
    "LiveState",
    "LoopConfig",
    "PublishResult",
    "ServeConfig",
    "load_serve_config",
]
