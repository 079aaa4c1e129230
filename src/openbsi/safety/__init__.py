"""Safety supervisor: limits, watchdog, emergency stop (imports only stimulation types)."""

from openbsi.safety.limits import SafetyLimits
from openbsi.safety.program_check import Violation, limits_for_backend, validate_program
from openbsi.safety.supervisor import SafetyDecision, SafetyEvent, SafetySupervisor

__all__ = [
    "SafetyDecision",
    "SafetyEvent",
    "SafetyLimits",
    "SafetySupervisor",
    "Violation",
    "limits_for_backend",
    "validate_program",
]
