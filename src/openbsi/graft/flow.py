"""Flow cytometry: panel YAML, compensation, debris / singlet / viability gates, % positive + CI.

Gating order: compensation ($SPILLOVER) -> debris (FSC and SSC above a floor) -> singlets
(FSC-H / FSC-A ratio near the population's) -> live (viability dye below its threshold) ->
markers (above a threshold set on the named FMO / isotype control gated the same way).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import beta

from openbsi.graft.fcs import FcsSample, read_fcs
from openbsi.inputs import InputError, load_yaml, mapping, number, sequence, string

CONFIDENCE = 0.95
# Singlets: FSC-H/FSC-A within 4 robust SD below the median ratio (assumption; doublets have a
# larger area for the same height, so only the low side is cut).
SINGLET_MAD_FACTOR = 4.0
DEFAULT_CONTROL_PERCENTILE = 99.5  # 0.5 % of control events above threshold (common FMO rule)


@dataclass(frozen=True)
class Marker:
    name: str
    channel: str
    control: str
    percentile: float


@dataclass(frozen=True)
class Panel:
    name: str
    version: str
    source: str
    fsc_area: str
    ssc_area: str
    fsc_height: str | None
    debris_fsc_min: float | None  # None = automatic (Otsu on log FSC)
    debris_ssc_min: float
    viability_channel: str | None
    viability_threshold: float | None
    viability_control: str | None
    viability_percentile: float
    compensation: str  # "file" | "none"
    controls: dict[str, Path]
    markers: tuple[Marker, ...]
    combinations: dict[str, tuple[str, ...]] = field(default_factory=dict)


_PANEL_KEYS = (
    "panel",
    "version",
    "scatter",
    "debris",
    "viability",
    "compensation",
    "controls",
    "markers",
    "combinations",
)


def load_panel(path: str | os.PathLike[str]) -> Panel:
    """Read a panel YAML (strict); control files are resolved beside the panel."""
    source = str(path)
    raw = mapping(
        load_yaml(path, source=source),
        source=source,
        field="",
        allowed=_PANEL_KEYS,
        required=("panel", "version", "scatter", "markers"),
    )
    base = Path(path).resolve().parent
    name = string(raw["panel"], source=source, field="panel")
    version = string(
        str(raw["version"]) if isinstance(raw["version"], int) else raw["version"],
        source=source,
        field="version",
        max_len=32,
    )
    scatter = mapping(
        raw["scatter"],
        source=source,
        field="scatter",
        allowed=("fsc_area", "ssc_area", "fsc_height"),
        required=("fsc_area", "ssc_area"),
    )
    debris = mapping(
        raw.get("debris", {}), source=source, field="debris", allowed=("fsc_min", "ssc_min")
    )
    fsc_min = debris.get("fsc_min", "auto")
    if fsc_min != "auto":
        fsc_min = number(fsc_min, source=source, field="debris.fsc_min", low=0, high=1e9)
    viability = mapping(
        raw.get("viability", {}),
        source=source,
        field="viability",
        allowed=("channel", "threshold", "control", "percentile"),
    )
    if "channel" in viability and "threshold" not in viability and "control" not in viability:
        raise InputError(source, "viability", "needs a threshold or a control")
    controls_raw = mapping(raw.get("controls", {}), source=source, field="controls")
    controls = {}
    for key, value in controls_raw.items():
        file = string(value, source=source, field=f"controls.{key}", max_len=1024)
        controls[key] = (base / file) if not Path(file).is_absolute() else Path(file)
    markers = []
    for k, item in enumerate(sequence(raw["markers"], source=source, field="markers", max_len=64)):
        where = f"markers[{k}]"
        item = mapping(
            item,
            source=source,
            field=where,
            allowed=("name", "channel", "control", "percentile"),
            required=("name", "channel", "control"),
        )
        control = string(item["control"], source=source, field=f"{where}.control")
        if control not in controls:
            raise InputError(
                source,
                f"{where}.control",
                "names no entry of controls",
                limit=sorted(controls),
                value=control,
            )
        markers.append(
            Marker(
                name=string(item["name"], source=source, field=f"{where}.name", max_len=64),
                channel=string(
                    item["channel"], source=source, field=f"{where}.channel", max_len=64
                ),
                control=control,
                percentile=number(
                    item.get("percentile", DEFAULT_CONTROL_PERCENTILE),
                    source=source,
                    field=f"{where}.percentile",
                    low=50.0,
                    high=100.0,
                ),
            )
        )
    names = [m.name for m in markers]
    if len(set(names)) != len(names):
        raise InputError(source, "markers", "marker names must be unique", value=names)
    combinations = {}
    for key, value in mapping(
        raw.get("combinations", {}), source=source, field="combinations"
    ).items():
        mapping(
            value,
            source=source,
            field=f"combinations.{key}",
            allowed=("any_of",),
            required=("any_of",),
        )
        members = sequence(
            value["any_of"], source=source, field=f"combinations.{key}.any_of", max_len=64
        )
        for m in members:
            string(m, source=source, field=f"combinations.{key}.any_of", choices=names)
        combinations[key] = tuple(members)
    viability_control = viability.get("control")
    if viability_control is not None and viability_control not in controls:
        raise InputError(
            source,
            "viability.control",
            "names no entry of controls",
            limit=sorted(controls),
            value=viability_control,
        )
    return Panel(
        name=name,
        version=version,
        source=source,
        fsc_area=string(scatter["fsc_area"], source=source, field="scatter.fsc_area"),
        ssc_area=string(scatter["ssc_area"], source=source, field="scatter.ssc_area"),
        fsc_height=string(scatter["fsc_height"], source=source, field="scatter.fsc_height")
        if "fsc_height" in scatter
        else None,
        debris_fsc_min=None if fsc_min == "auto" else float(fsc_min),
        debris_ssc_min=float(
            number(
                debris.get("ssc_min", 0.0), source=source, field="debris.ssc_min", low=0, high=1e9
            )
        ),
        viability_channel=string(viability["channel"], source=source, field="viability.channel")
        if "channel" in viability
        else None,
        viability_threshold=float(
            number(
                viability["threshold"],
                source=source,
                field="viability.threshold",
                low=-1e9,
                high=1e9,
            )
        )
        if "threshold" in viability
        else None,
        viability_control=viability_control,
        viability_percentile=float(
            number(
                viability.get("percentile", DEFAULT_CONTROL_PERCENTILE),
                source=source,
                field="viability.percentile",
                low=50,
                high=100,
            )
        ),
        compensation=string(
            raw.get("compensation", "file"),
            source=source,
            field="compensation",
            choices=("file", "none"),
        ),
        controls=controls,
        markers=tuple(markers),
        combinations=combinations,
    )


def proportion_ci(
    positive: int, total: int, confidence: float = CONFIDENCE
) -> tuple[float | None, float | None]:
    """Clopper-Pearson (exact) interval of a binomial proportion; (None, None) without events."""
    if total <= 0:
        return None, None
    alpha = 1.0 - confidence
    low = 0.0 if positive == 0 else float(beta.ppf(alpha / 2, positive, total - positive + 1))
    high = (
        1.0 if positive == total else float(beta.ppf(1 - alpha / 2, positive + 1, total - positive))
    )
    return low, high


def compensate(sample: FcsSample) -> np.ndarray:
    """Events with the spillover removed: comp = raw @ inv(S) on the spillover's channels."""
    events = sample.events.copy()
    if sample.spillover is None:
        return events
    columns = [sample.index(name) for name in sample.spillover_channels]
    try:
        inverse = np.linalg.inv(sample.spillover)
    except np.linalg.LinAlgError:
        raise InputError(sample.source, "$SPILLOVER", "matrix is singular") from None
    events[:, columns] = sample.events[:, columns] @ inverse
    return events


def _otsu(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold (maximal between-class variance) of a 1-D distribution."""
    hist, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * centres)
    total_w, total_m = weight[-1], mean[-1]
    w2 = total_w - weight
    valid = (weight > 0) & (w2 > 0)
    between = np.zeros_like(centres, dtype=float)
    m1 = mean[valid] / weight[valid]
    m2 = (total_m - mean[valid]) / w2[valid]
    between[valid] = weight[valid] * w2[valid] * (m1 - m2) ** 2
    return float(edges[int(np.argmax(between)) + 1])


def gate(
    sample: FcsSample, panel: Panel, *, viability_threshold: float | None
) -> tuple[np.ndarray, dict]:
    """(compensated events, counts per gate, masks) for one sample."""
    notes = list(sample.notes)
    if panel.compensation == "file":
        if sample.spillover is None:
            notes.append("no usable $SPILLOVER: events analysed uncompensated")
        events = compensate(sample)
    else:
        events = sample.events
    fsc = events[:, sample.index(panel.fsc_area)]
    ssc = events[:, sample.index(panel.ssc_area)]
    fsc_min = panel.debris_fsc_min
    if fsc_min is None:
        positive = fsc[fsc > 0]
        fsc_min = float(np.exp(_otsu(np.log(positive)))) if positive.size > 10 else 0.0
    keep = (fsc > fsc_min) & (ssc > panel.debris_ssc_min)
    counts = {"total": sample.n_events, "not_debris": int(keep.sum())}
    if panel.fsc_height is not None and keep.sum() > 10:
        height = events[:, sample.index(panel.fsc_height)]
        ratio = np.where(fsc > 0, height / np.where(fsc > 0, fsc, 1.0), 0.0)
        med = float(np.median(ratio[keep]))
        mad = float(np.median(np.abs(ratio[keep] - med))) * 1.4826
        keep &= ratio >= med - SINGLET_MAD_FACTOR * max(mad, 1e-9)
        counts["singlets"] = int(keep.sum())
    else:
        counts["singlets"] = None
        notes.append("singlet gate not applied (no FSC height channel)")
    if panel.viability_channel is not None and viability_threshold is not None:
        dye = events[:, sample.index(panel.viability_channel)]
        before = int(keep.sum())
        keep &= dye <= viability_threshold
        counts["live"] = int(keep.sum())
        counts["viability_fraction"] = counts["live"] / before if before else None
    else:
        counts["live"] = None
        counts["viability_fraction"] = None
    counts["gated"] = int(keep.sum())
    counts["debris_fsc_min"] = fsc_min
    counts["notes"] = notes
    return events[keep], counts


def analyse_flow(path: str | os.PathLike[str], panel: Panel) -> dict:
    """% positive per marker (count, CI) on the gated events of one FCS file."""
    sample = read_fcs(path)
    control_cache: dict[str, tuple[FcsSample, np.ndarray]] = {}

    def control_events(key: str, viability_threshold: float | None) -> np.ndarray:
        if key not in control_cache:
            control = read_fcs(panel.controls[key])
            control_cache[key] = (
                control,
                gate(control, panel, viability_threshold=viability_threshold)[0],
            )
        return control_cache[key][1]

    viability_threshold = panel.viability_threshold
    viability_source = "panel threshold" if viability_threshold is not None else None
    if viability_threshold is None and panel.viability_control is not None:
        control = read_fcs(panel.controls[panel.viability_control])
        ungated_live, _ = gate(control, panel, viability_threshold=None)
        column = control.index(panel.viability_channel)
        viability_threshold = float(
            np.percentile(ungated_live[:, column], panel.viability_percentile)
        )
        viability_source = f"control {panel.viability_control} p{panel.viability_percentile:g}"
    events, counts = gate(sample, panel, viability_threshold=viability_threshold)
    n = events.shape[0]
    markers, positive_masks = [], {}
    for marker in panel.markers:
        column = sample.index(marker.channel)
        control = control_events(marker.control, viability_threshold)
        control_column = control_cache[marker.control][0].index(marker.channel)
        if control.shape[0] < 100:
            raise InputError(
                str(panel.controls[marker.control]),
                "events",
                "too few gated control events",
                limit=">= 100",
                value=control.shape[0],
            )
        threshold = float(np.percentile(control[:, control_column], marker.percentile))
        mask = events[:, column] > threshold
        positive_masks[marker.name] = mask
        k = int(mask.sum())
        low, high = proportion_ci(k, n)
        markers.append(
            {
                "marker": marker.name,
                "channel": marker.channel,
                "control": marker.control,
                "control_file": str(panel.controls[marker.control]),
                "control_events": int(control.shape[0]),
                "threshold": threshold,
                "control_percentile": marker.percentile,
                "positive": k,
                "events": n,
                "fraction": k / n if n else None,
                "ci_low": low,
                "ci_high": high,
                "confidence": CONFIDENCE,
            }
        )
    for name, members in panel.combinations.items():
        mask = np.zeros(n, bool)
        for member in members:
            mask |= positive_masks[member]
        k = int(mask.sum())
        low, high = proportion_ci(k, n)
        markers.append(
            {
                "marker": name,
                "any_of": list(members),
                "positive": k,
                "events": n,
                "fraction": k / n if n else None,
                "ci_low": low,
                "ci_high": high,
                "confidence": CONFIDENCE,
            }
        )
    return {
        "file": str(path),
        "fcs_version": sample.version,
        "panel": panel.name,
        "panel_version": panel.version,
        "compensated": panel.compensation == "file" and sample.spillover is not None,
        "viability_threshold": viability_threshold,
        "viability_threshold_from": viability_source,
        "gates": counts,
        "markers": markers,
    }


def marker_result(result: dict, name: str) -> dict | None:
    for row in result["markers"]:
        if row["marker"] == name:
            return row
    return None
