"""qPCR Ct tables (CSV): dCt against reference genes and ddCt against a calibrator sample.

CSV columns (header required, any order, extra columns ignored): `sample`, `gene`, `ct`.
Replicates are averaged. A Ct of "Undetermined", "ND" or empty means no amplification within
the run and is taken as `max_cycles` (a censored value, flagged): for a gene that should be
absent (OCT4) this bounds ddCt from below; for one that should be present it fails the limit.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass

from openbsi.inputs import InputError, read_limited

MAX_QPCR_BYTES = 5_000_000
MAX_ROWS = 50_000
DEFAULT_MAX_CYCLES = 40.0  # a standard 40-cycle run (assumption when the table does not say)
_NOT_DETECTED = {"undetermined", "nd", "n/a", "", "no ct", "-"}


@dataclass(frozen=True)
class CtTable:
    source: str
    ct: dict[tuple[str, str], float]  # (sample, gene) -> mean Ct
    censored: frozenset[tuple[str, str]]  # (sample, gene) with any not-detected replicate

    def mean_ct(self, sample: str, gene: str) -> float:
        try:
            return self.ct[(sample, gene)]
        except KeyError:
            raise InputError(
                self.source, "ct", "no Ct for sample/gene", value=f"{sample}/{gene}"
            ) from None

    def delta_ct(self, sample: str, gene: str, reference_genes: list[str]) -> float:
        """dCt = Ct(gene) - mean Ct(reference genes), in the same sample."""
        reference = [self.mean_ct(sample, g) for g in reference_genes]
        return self.mean_ct(sample, gene) - sum(reference) / len(reference)

    def delta_delta_ct(
        self, sample: str, calibrator: str, gene: str, reference_genes: list[str]
    ) -> float:
        """ddCt = dCt(sample) - dCt(calibrator); positive = less expressed than the calibrator."""
        return self.delta_ct(sample, gene, reference_genes) - self.delta_ct(
            calibrator, gene, reference_genes
        )


def read_ct_csv(path: str | os.PathLike[str], *, max_cycles: float = DEFAULT_MAX_CYCLES) -> CtTable:
    source = str(path)
    data = read_limited(path, max_bytes=MAX_QPCR_BYTES, source=source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(source, "file", "is not UTF-8 text", value=f"byte {error.start}") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise InputError(source, "csv", f"malformed CSV ({error})") from None
    if not rows:
        raise InputError(source, "header", "file is empty")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("sample", "gene", "ct") if c not in header]
    if missing:
        raise InputError(
            source, "header", "missing column", limit="sample, gene, ct", value=missing[0]
        )
    if len(rows) - 1 > MAX_ROWS:
        raise InputError(source, "rows", "too many", limit=MAX_ROWS, value=len(rows) - 1)
    col = {name: header.index(name) for name in ("sample", "gene", "ct")}
    values: dict[tuple[str, str], list[float]] = {}
    censored = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise InputError(
                source, f"line {line}", "too few columns", limit=len(header), value=len(row)
            )
        sample, gene, raw = (row[col[c]].strip() for c in ("sample", "gene", "ct"))
        if not sample or not gene or len(sample) > 128 or len(gene) > 64:
            raise InputError(
                source, f"line {line}", "sample and gene must be 1-128 / 1-64 characters"
            )
        if raw.lower() in _NOT_DETECTED:
            ct = max_cycles
            censored.add((sample, gene))
        else:
            try:
                ct = float(raw)
            except ValueError:
                raise InputError(
                    source, f"line {line}.ct", "must be a number or Undetermined", value=raw
                ) from None
            if not math.isfinite(ct) or not 0.0 < ct <= max_cycles:
                raise InputError(
                    source, f"line {line}.ct", "out of range", limit=f"(0, {max_cycles}]", value=ct
                )
        values.setdefault((sample, gene), []).append(ct)
    if not values:
        raise InputError(source, "rows", "no Ct values")
    means = {key: sum(v) / len(v) for key, v in values.items()}
    return CtTable(source, means, frozenset(censored))
