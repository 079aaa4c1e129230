"""`recording verify` / `recording recover`: the hash chain catches any alteration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

import openbsi.cli.recording  # noqa: F401  (registers the commands)
from openbsi.cli.apps import app
from openbsi.store.nwb import log_to_nwb, read_nwb
from openbsi.store.session_log import LOG_NAME, read_log
from openbsi.store.synthetic import record_synthetic_session
from openbsi.store.verify import verify_recording

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


SEALS: dict[str, str] = {}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("verify")
    rec = record_synthetic_session(folder, np.random.default_rng(30), seconds=2.0, n_channels=4)
    nwb_path = log_to_nwb(folder / LOG_NAME, folder / "recording.nwb")
    SEALS["published"] = rec.seal
    return folder / LOG_NAME, nwb_path, rec.chain_head


def _copy(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / path.name
    shutil.copy(path, target)
    return target


def test_intact_recording_verifies(recorded: tuple[Path, Path, str]) -> None:
    log_path, nwb_path, head = recorded
    for path in (log_path, nwb_path):
        result = verify_recording(path, expected_head=head)
        assert result["ok"] and result["hash_chain_ok"], result["problems"]
        assert result["chunks"] == 20
        assert result["duration_s"] == pytest.approx(20 * 59 / 586.0)


@pytest.mark.parametrize("what", ["sample", "chunk_time", "head", "first_sample"])
def test_any_alteration_breaks_the_chain(
    recorded: tuple[Path, Path, str], tmp_path: Path, what: str
) -> None:
    nwb_path = _copy(recorded[1], tmp_path)
    with h5py.File(nwb_path, "r+") as f:
        if what == "sample":
            f["acquisition/ECoG/data"][300, 2] += 1e-3
        elif what == "chunk_time":
            f["processing/integrity/ecog_chunks/t_s"][5] += 0.001
        elif what == "first_sample":
            f["processing/integrity/ecog_chunks/first_sample"][3] = -7
        else:
            f["processing/integrity/hash_chain/head"][0] = "0" * 64
    result = verify_recording(nwb_path)
    assert not result["ok"] and not result["hash_chain_ok"]


def test_a_recomputed_fake_chain_is_caught_by_the_published_head(
    recorded: tuple[Path, Path, str], tmp_path: Path
) -> None:
    head = recorded[2]
    other = tmp_path / "other"
    record_synthetic_session(other, np.random.default_rng(31), seconds=2.0, n_channels=4)
    fake = log_to_nwb(other / LOG_NAME, tmp_path / "fake.nwb")
    assert verify_recording(fake)["ok"]  # self-consistent on its own
    assert not verify_recording(fake, expected_head=head)["ok"]


def test_truncated_nwb_is_reported_not_raised(
    recorded: tuple[Path, Path, str], tmp_path: Path
) -> None:
    nwb_path = _copy(recorded[1], tmp_path)
    with nwb_path.open("r+b") as f:
        f.truncate(nwb_path.stat().st_size // 2)
    result = verify_recording(nwb_path)
    assert not result["ok"] and result["problems"]


def test_cli_verify_json_and_exit_codes(recorded: tuple[Path, Path, str], tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["recording", "verify", str(recorded[1]), "--json"])
    assert good.exit_code == 0
    assert set(json.loads(good.stdout)) >= {
        "ok",
        "integrity_ok",
        "recovered",
        "dropped_records",
        "duration_s",
        "chunks",
        "hash_chain_ok",
        "problems",
    }
    bad_path = _copy(recorded[1], tmp_path)
    with h5py.File(bad_path, "r+") as f:
        f["acquisition/ECoG/data"][0, 0] = 7.0
    bad = runner.invoke(app, ["recording", "verify", str(bad_path), "--json"])
    assert bad.exit_code == 1 and json.loads(bad.stdout)["ok"] is False


def test_cli_recover_rebuilds_a_torn_log(recorded: tuple[Path, Path, str], tmp_path: Path) -> None:
    log_path = _copy(recorded[0], tmp_path)
    with log_path.open("r+b") as f:
        f.truncate(log_path.stat().st_size - 100)
    out = tmp_path / "recovered.nwb"
    result = CliRunner().invoke(
        app, ["recording", "recover", str(log_path), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["closed"] is False and summary["chunks"] == 20
    verdict = verify_recording(out)
    assert verdict["integrity_ok"] and verdict["recovered"] and not verdict["ok"]


def test_seal_is_the_same_from_recorder_log_and_nwb(recorded: tuple[Path, Path, str]) -> None:
    log_path, nwb_path, _ = recorded
    published = SEALS["published"]
    assert read_log(log_path).seal == published == read_nwb(nwb_path, load_ecog=False).seal
    assert verify_recording(nwb_path, expected_seal=published)["ok"]
    assert verify_recording(log_path, expected_seal=published)["ok"]
    assert not verify_recording(nwb_path, expected_seal="ab" * 32)["ok"]


@pytest.mark.parametrize(
    ("dataset", "index", "value"),
    [
        ("processing/decoding/decodes/amplitude", 3, 0.123),
        ("processing/stimulation/pulses/amplitude_ma", 0, 7.5),
        ("processing/stimulation/commands/vetoed", 2, True),
        ("intervals/intent/start_time", 1, 0.05),
        ("processing/runtime/latency/stimulated_ns", 4, 42),
    ],
)
def test_altered_decisions_are_caught(
    recorded: tuple[Path, Path, str], tmp_path: Path, dataset: str, index: int, value: object
) -> None:
    nwb_path = _copy(recorded[1], tmp_path)
    with h5py.File(nwb_path, "r+") as f:
        f[dataset][index] = value
    result = verify_recording(nwb_path)
    assert not result["ok"]
    assert any(p.startswith("altered:") for p in result["problems"])
    assert result["hash_chain_ok"]  # the samples themselves are intact


def test_cli_verify_with_published_seal(recorded: tuple[Path, Path, str]) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["recording", "verify", str(recorded[1]), "--seal", SEALS["published"]])
    assert ok.exit_code == 0
    wrong = runner.invoke(app, ["recording", "verify", str(recorded[1]), "--seal", "0" * 64])
    assert wrong.exit_code == 1


def test_mangled_structure_gives_a_verdict(
    recorded: tuple[Path, Path, str], tmp_path: Path
) -> None:
    nwb_path = _copy(recorded[1], tmp_path)
    with h5py.File(nwb_path, "r+") as f:
        del f["processing/integrity/ecog_chunks/sha256"]
    result = verify_recording(nwb_path)
    assert not result["ok"] and result["problems"]
