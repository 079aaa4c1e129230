import numpy as np
import pytest

from openbsi.patient.cortex import VirtualCortex
from openbsi.patient.intent import IntentBlock, IntentScript
from openbsi.patient.lesion import Lesion
from openbsi.patient.profiles import DEFAULT_PROFILE, PROFILES, get_profile


def test_profiles_cover_the_required_populations() -> None:
    assert DEFAULT_PROFILE in PROFILES
    grades = {(p.lesion.ais, p.lesion.level[0]) for p in PROFILES.values()}
    assert ("A", "T") in grades  # complete thoracic
    assert any(ais in "BCD" and level == "C" for ais, level in grades)  # cervical incomplete
    assert get_profile(DEFAULT_PROFILE).lesion.ais == "C"
    with pytest.raises(ValueError, match="profile must be one of"):
        get_profile("nobody")


def test_lesion_grades_order_spared_drive() -> None:
    spared = [Lesion("T10", g).descending_fraction for g in "ABCD"]
    assert spared[0] == spared[1] == 0.0
    assert spared[1] < spared[2] < spared[3] <= 1.0
    lesion = Lesion("T10", "C")
    assert lesion.voluntary_gain("T5") == 1.0  # above the lesion
    assert lesion.voluntary_gain("L2") == lesion.descending_fraction
    with pytest.raises(ValueError, match="spared_fraction must be 0"):
        Lesion("T10", "A", spared_fraction=0.2)
    with pytest.raises(ValueError, match="ais"):
        Lesion("T10", "F")


SCRIPT = IntentScript((IntentBlock(0, 2, "rest", 0.0),))


def _tuning(day: int) -> np.ndarray:
    cortex = VirtualCortex(SCRIPT, np.random.default_rng(day + 10), day=day)
    return cortex._w_hg.copy()


def test_tuning_is_a_fixed_anatomy_that_drifts_slowly_and_boundedly() -> None:
    day0, again, day1, day60, day600 = (_tuning(d) for d in (0, 0, 1, 60, 600))
    assert np.array_equal(day0, again)  # same patient, different session noise

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])

    # Slow: after one day the map is nearly the same; after two months it has moved.
    assert corr(day0, day1) > 0.95
    assert corr(day0, day60) < corr(day0, day1)
    # Bounded (mean-reverting): still recognisably the same somatotopy after 600 days.
    assert corr(day0, day600) > 0.3


def test_bad_channels_are_loud_and_named() -> None:
    cortex = VirtualCortex(SCRIPT, np.random.default_rng(0), bad_channels=("L05", "R17"))
    x = cortex.read(586)
    names = list(cortex.info.channel_names)
    bad = [names.index("L05"), names.index("R17")]
    good = [i for i in range(64) if i not in bad]
    assert x[bad].std(axis=1).min() > 3 * x[good].std(axis=1).max()
    with pytest.raises(ValueError, match="bad_channels"):
        VirtualCortex(SCRIPT, np.random.default_rng(0), bad_channels=("X99",))


def test_line_noise_peak_at_configured_frequency() -> None:
    cortex = VirtualCortex(SCRIPT, np.random.default_rng(0))
    x = cortex.read(586 * 2)
    spec = np.abs(np.fft.rfft(x, axis=1)).mean(axis=0)
    freqs = np.fft.rfftfreq(x.shape[1], 1 / 586.0)
    near = (freqs > 40) & (freqs < 60)
    assert abs(freqs[near][np.argmax(spec[near])] - 50.0) < 1.0
