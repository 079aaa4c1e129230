"""Safety supervisor: limits, watchdog, emergency stop (imports only stimulation types)."""

from openbsi.safety.limits import SafetyLimits
from openbsi.safety.supervisor import SafetyDecision, SafetyEvent, SafetySupervisor

__all__ = ["SafetyDecision", "SafetyEvent", "SafetyLimits", "SafetySupervisor"]
