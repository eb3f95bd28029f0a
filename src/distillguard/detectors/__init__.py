"""Detectors: each turns detection state into findings with evidence."""

from distillguard.detectors.base import Detector, Finding
from distillguard.detectors.capability import CapabilityConcentrationDetector
from distillguard.detectors.elicitation import ReasoningElicitationDetector
from distillguard.detectors.linking import AccountLinkingDetector
from distillguard.detectors.pivot import ModelPivotDetector
from distillguard.detectors.reuse import PromptReuseDetector
from distillguard.detectors.sync import SynchronisedActivityDetector
from distillguard.detectors.timing import AutomationTimingDetector
from distillguard.detectors.volume import VolumeDetector
from distillguard.detectors.wrappers import SharedWrapperDetector


def default_detectors() -> list[Detector]:
    """Every built-in detector with its default parameters."""
    return [
        VolumeDetector(),
        AutomationTimingDetector(),
        PromptReuseDetector(),
        SharedWrapperDetector(),
        ReasoningElicitationDetector(),
        CapabilityConcentrationDetector(),
        AccountLinkingDetector(),
        SynchronisedActivityDetector(),
        ModelPivotDetector(),
    ]


__all__ = [
    "AccountLinkingDetector",
    "AutomationTimingDetector",
    "CapabilityConcentrationDetector",
    "Detector",
    "Finding",
    "ModelPivotDetector",
    "PromptReuseDetector",
    "ReasoningElicitationDetector",
    "SharedWrapperDetector",
    "SynchronisedActivityDetector",
    "VolumeDetector",
    "default_detectors",
]
