"""Every YAML / CSV loader of graft: a valid object or a clean InputError, within a time bound."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbsi.graft.flow import load_panel
from openbsi.graft.lots import load_lot
from openbsi.graft.qpcr import read_ct_csv
from openbsi.graft.spec import DEFAULT_SPEC, load_spec
from openbsi.inputs import InputError

TIME_BOUND_S = 2.0
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
_keys = st.sampled_from(
    [
        "lot",
        "cell_line",
        "donor",
        "id",
        "autologous",
        "harvest_day",
        "aliquots",
        "assays",
        "kind",
        "cells",
        "consumed_by",
        "files",
        "panel",
        "markers",
        "scatter",
        "fsc_area",
        "criteria",
        "measure",
        "op",
        "limit",
        "name",
        "version",
        "spec",
        "source",
        "media",
        "differentiation_start",
    ]
)
_trees = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=6)),
    max_leaves=25,
)


def _check(loader, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        loader(path)
    except InputError as error:
        assert "\n" not in str(error)
    assert time.perf_counter() - start < TIME_BOUND_S


_common = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_common
@given(tree=_trees)
def test_lot_manifest_fuzz(tmp_path: Path, tree) -> None:
    _check(load_lot, tmp_path / "lot.yaml", yaml.safe_dump(tree).encode())


@_common
@given(tree=_trees)
def test_panel_fuzz(tmp_path: Path, tree) -> None:
    _check(load_panel, tmp_path / "panel.yaml", yaml.safe_dump(tree).encode())


@_common
@given(tree=_trees)
def test_spec_fuzz(tmp_path: Path, tree) -> None:
    _check(load_spec, tmp_path / "spec.yaml", yaml.safe_dump(tree).encode())


@_common
@given(cut=st.integers(0, 6000), flip=st.integers(0, 6000), byte=st.integers(0, 255))
def test_default_spec_mutations(tmp_path: Path, cut: int, flip: int, byte: int) -> None:
    data = bytearray(DEFAULT_SPEC.read_bytes()[:cut] if cut else DEFAULT_SPEC.read_bytes())
    if data:
        data[flip % len(data)] = byte
    _check(load_spec, tmp_path / "spec.yaml", bytes(data))


@_common
@given(
    rows=st.lists(
        st.tuples(st.text(max_size=6), st.text(max_size=6), st.text(max_size=8)), max_size=20
    ),
    header=st.booleans(),
)
def test_qpcr_csv_fuzz(tmp_path: Path, rows, header: bool) -> None:
    lines = (["sample,gene,ct"] if header else []) + [",".join(r) for r in rows]
    _check(read_ct_csv, tmp_path / "ct.csv", "\n".join(lines).encode())


def test_qpcr_delta_ct(tmp_path: Path) -> None:
    (tmp_path / "ct.csv").write_text(
        "sample,gene,ct\nL,GAPDH,18\nL,GAPDH,18.2\nL,ACTB,19\nL,OCT4,Undetermined\nL,SOX1,25\n"
        "C,GAPDH,18\nC,ACTB,19\nC,OCT4,21\n"
    )
    table = read_ct_csv(tmp_path / "ct.csv")
    assert table.delta_ct("L", "SOX1", ["GAPDH", "ACTB"]) == pytest.approx(25 - 18.55)
    # OCT4 undetected in L: Ct taken as 40 (censored), ddCt a lower bound
    assert table.delta_delta_ct("L", "C", "OCT4", ["GAPDH", "ACTB"]) == pytest.approx(
        (40 - 18.55) - (21 - 18.5)
    )
    assert ("L", "OCT4") in table.censored
    with pytest.raises(InputError, match="no Ct for sample/gene"):
        table.delta_ct("L", "PAX6", ["GAPDH"])
