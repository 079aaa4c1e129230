"""Program checks for the editor: the same validation as `openbsi program validate`, the
clinical charge-density warning, versions' diff, and the electrode map picture."""

from __future__ import annotations

import difflib
import hashlib
import math
from dataclasses import dataclass, field
from html import escape
from typing import Any

import yaml

from openbsi.safety.program_check import Violation, validate_program
from openbsi.stimulation.layouts import default_layout
from openbsi.stimulation.program import Program, program_from_dict
from openbsi.stimulation.types import Electrode

MAX_PROGRAM_BYTES = 200_000  # a program file is a few kB
# Commercial programmers warn at 30 uC/cm^2 per phase on platinum contacts (facts.md, "A clinic
# app"); a device record may set a lower, more conservative warning for its lab.
CLINICAL_CHARGE_WARNING_UC_CM2 = 30.0


@dataclass
class ProgramCheck:
    program: Program | None
    violations: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.program is not None and not self.violations


def parse_yaml(text: str) -> Any:
    """Strict YAML (openbsi.inputs when present): ValueError naming the problem."""
    if len(text.encode()) > MAX_PROGRAM_BYTES:
        raise ValueError(f"program: size limit {MAX_PROGRAM_BYTES} bytes, got {len(text)}")
    try:
        from openbsi.inputs import load_yaml
    except ImportError:  # pragma: no cover - before the shared loader lands
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"program: YAML: {error}".splitlines()[0]) from None
    return load_yaml(text.encode(), source="program")


def check_program(text: str, backend: str, warning_uc_cm2: float) -> ProgramCheck:
    """Every violation at its field (rule, limit, value), then the charge-density warnings."""
    try:
        program = program_from_dict(parse_yaml(text))
        violations = validate_program(program, backend=backend)
    except ValueError as error:  # schema errors: one violation naming the field
        message = str(error)
        return ProgramCheck(
            None, [Violation(_field_of(message), math.nan, math.nan, "schema", message).to_json()]
        )
    check = ProgramCheck(program, [v.to_json() for v in violations])
    check.warnings = charge_warnings(program, default_layout(backend), warning_uc_cm2)
    return check


def _field_of(message: str) -> str:
    """The field a schema error names ("states.rest[0].amplitude_ma must ..." -> that path)."""
    head = message.split(" ", 1)[0].rstrip(":")
    return head if head.startswith(("states", "name", "backend", "min_amp", "schema")) else "file"


def charge_density_uc_cm2(amplitude_ma: float, pulse_width_us: float, area_mm2: float) -> float:
    """Charge per phase over the contact's area: mA x us = nC; mm^2 / 100 = cm^2."""
    return amplitude_ma * pulse_width_us * 1e-3 / (area_mm2 / 100.0)


def charge_warnings(
    program: Program, layout: tuple[Electrode, ...], warning_uc_cm2: float
) -> list[dict[str, Any]]:
    """Steps whose charge density per phase at full amplitude is above the warning."""
    by_index = {e.index: e for e in layout}
    out = []
    for state, steps in program.states.items():
        for i, step in enumerate(steps):
            for e in step.electrodes:
                electrode = by_index.get(e)
                if electrode is None or electrode.area_mm2 <= 0:
                    continue
                density = charge_density_uc_cm2(
                    step.amplitude_ma, step.pulse_width_us, electrode.area_mm2
                )
                if density > warning_uc_cm2:
                    out.append(
                        {
                            "field": f"states.{state}[{i}].amplitude_ma",
                            "value": round(density, 3),
                            "limit": warning_uc_cm2,
                            "rule": "charge_density_warning",
                            "message": f"electrode {e}: {density:.1f} uC/cm^2 per phase is above "
                            f"the clinical warning of {warning_uc_cm2:g} uC/cm^2; a reason is "
                            "required",
                        }
                    )
    return out


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def diff(old_text: str, new_text: str, old_label: str, new_label: str) -> str:
    return "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=old_label,
            tofile=new_label,
        )
    )


def electrode_map_svg(backend: str, program: Program | None) -> str:
    """The lead (paddle, node array or surface electrodes) seen from behind: each contact
    shaded by the largest amplitude any state gives it; hatched when a violation names it."""
    layout = default_layout(backend)
    peak: dict[int, float] = {}
    if program is not None:
        for steps in program.states.values():
            for step in steps:
                for e in step.electrodes:
                    peak[e] = max(peak.get(e, 0.0), float(step.amplitude_ma))
    xs = [e.x_mm for e in layout]
    ys = [e.y_mm for e in layout]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    scale = 240.0 / max(x1 - x0, y1 - y0, 1.0)
    top = max(peak.values(), default=0.0) or 1.0
    shapes = []
    for e in layout:
        cx = 20 + (e.x_mm - x0) * scale
        cy = 20 + (e.y_mm - y0) * scale
        level = peak.get(e.index, 0.0) / top
        fill = f"rgba(200,40,40,{0.15 + 0.85 * level:.2f})" if e.index in peak else "#ddd"
        title = escape(f"{e.name} ({e.root} {e.side}): {peak.get(e.index, 0.0):g} mA")
        shapes.append(
            f'<g><title>{title}</title><rect x="{cx - 7:.1f}" y="{cy - 10:.1f}" width="14" '
            f'height="20" rx="3" fill="{fill}" stroke="#333" data-electrode="{e.index}"/>'
            f'<text x="{cx:.1f}" y="{cy + 24:.1f}" font-size="8" text-anchor="middle">'
            f"{escape(e.name)}</text></g>"
        )
    width = 40 + (x1 - x0) * scale
    height = 60 + (y1 - y0) * scale
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="electrode-map" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="{escape(backend)} electrode map">'
        + "".join(shapes)
        + "</svg>"
    )
