"""Hypothesis random walks through every generated machine (the generated RuleBasedStateMachines)."""

from __future__ import annotations

from canonicalflow._generated.execution_control_hypothesis import TestExecutionControl
from canonicalflow._generated.intent_lifecycle_hypothesis import TestIntentLifecycle
from canonicalflow._generated.order_lifecycle_hypothesis import TestOrderLifecycle

__all__ = ["TestExecutionControl", "TestIntentLifecycle", "TestOrderLifecycle"]
