"""The potency of a released graft lot (#15 graft QC exports `potency.json`).

Only a released lot can be used; its potency factor (0..1) scales the progenitor therapy's
ignition pulse: purity x viability x V0/V2 share (relative to a reference) x a
differentiation-day factor (day 8-12 usable, up to 30 in specialised media; Cell Death & Disease
2025, doi:10.1038/s41419-025-07961-x) x function (Na+/K+ currents and action potentials).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from openbsi.inputs import InputError, mapping, number, read_limited, string

_FIELDS = (
    "lot", "spec_version", "released", "differentiation_day", "purity_fraction",
    "v0_v2_fraction", "functional", "viability_fraction", "sha256_of_certificate",
)  # fmt: skip
# Assumption: a V0/V2 share at or above this counts as full interneuron identity.
REFERENCE_V0_V2_FRACTION = 0.3
# Assumption: an unverified-function lot keeps this share of its potency.
NON_FUNCTIONAL_FACTOR = 0.3


@dataclass(frozen=True)
class LotPotency:
    lot: str
    spec_version: str
    released: bool
    differentiation_day: float
    purity_fraction: float
    v0_v2_fraction: float
    functional: bool
    viability_fraction: float
    sha256_of_certificate: str

    @property
    def potency(self) -> float:
        """0..1 factor on the ignition pulse (1 = a reference lot)."""
        day = self.differentiation_day
        if 8.0 <= day <= 12.0:  # the usable progenitor window (Cell Death & Disease 2025)
            timing = 1.0
        elif day < 8.0:
            timing = max(0.0, (day - 4.0) / 4.0)  # assumption: linear loss before day 8
        elif day <= 30.0:
            timing = 1.0 - 0.5 * (day - 12.0) / 18.0  # assumption: half by day 30
        else:
            timing = 0.0
        identity = min(1.0, self.v0_v2_fraction / REFERENCE_V0_V2_FRACTION)
        function = 1.0 if self.functional else NON_FUNCTIONAL_FACTOR
        return float(self.purity_fraction * self.viability_fraction * identity * timing * function)


def _flag(value: object, source: str, field: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(source, field, "must be true or false", value=value)
    return value


def parse_lot_potency(data: object, *, source: str) -> LotPotency:
    d = mapping(data, source=source, field="", allowed=_FIELDS, required=_FIELDS)
    lot = LotPotency(
        lot=string(d["lot"], source=source, field="lot", max_len=128),
        spec_version=string(d["spec_version"], source=source, field="spec_version", max_len=64),
        released=_flag(d["released"], source, "released"),
        differentiation_day=float(number(d["differentiation_day"], source=source,
                                         field="differentiation_day", low=0.0, high=120.0)),
        purity_fraction=float(number(d["purity_fraction"], source=source,
                                     field="purity_fraction", low=0.0, high=1.0)),
        v0_v2_fraction=float(number(d["v0_v2_fraction"], source=source, field="v0_v2_fraction",
                                    low=0.0, high=1.0)),
        functional=_flag(d["functional"], source, "functional"),
        viability_fraction=float(number(d["viability_fraction"], source=source,
                                        field="viability_fraction", low=0.0, high=1.0)),
        sha256_of_certificate=string(d["sha256_of_certificate"], source=source,
                                     field="sha256_of_certificate", max_len=64),
    )  # fmt: skip
    if not lot.released:
        raise InputError(source, "released", "lot is not released; it cannot be used", value=False)
    return lot


def read_lot_potency(path: str | Path) -> LotPotency:
    """Read a graft lot's potency.json; an unreleased or malformed lot is an InputError."""
    source = str(path)
    raw = read_limited(path, max_bytes=100_000, source=source)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InputError(source, "file", "is not UTF-8 text", value=f"byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise InputError(source, "file", f"is not JSON: {error.msg}",
                         value=f"line {error.lineno}") from None  # fmt: skip
    except RecursionError:
        raise InputError(source, "file", "is nested too deeply") from None
    return parse_lot_potency(data, source=source)
