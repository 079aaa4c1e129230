import numpy as np
import pytest

from openbsi.patient.intent import IntentBlock, IntentScript
from openbsi.patient.proprioception import erased_fraction, natural_ia_hz
from openbsi.patient.session import run_patient, train_source
from openbsi.patient.virtual import VirtualPatient
from openbsi.stimulation.electrodes import PADDLE_16, find_electrode


def test_collision_grows_with_frequency_and_recruitment() -> None:
    freqs = np.array([5.0, 10.0, 20.0, 40.0, 80.0])
    erased = erased_fraction(freqs, 1.0)
    assert np.all(np.diff(erased) >= 0)
    assert erased[-1] == pytest.approx(1.0)  # high frequency erases proprioception
    assert erased_fraction(40.0, 0.3) < erased_fraction(40.0, 0.9)
    # Long human conduction times make collision far worse than in rats (Formento 2018).
    human = erased_fraction(20.0, 1.0)
    rat = erased_fraction(20.0, 1.0, conduction_s=0.002)
    assert human > 3 * rat


def test_collision_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="recruited_fraction"):
        erased_fraction(20.0, 1.5)


def test_ia_rises_when_a_muscle_is_stretched() -> None:
    still = natural_ia_hz(np.zeros(6))
    # Left hip extending (negative velocity) stretches the left iliopsoas.
    moving = natural_ia_hz(np.array([-2.0, 0, 0, 0, 0, 0]))
    assert moving[0] > still[0]
    assert moving[7] == still[7]  # right iliopsoas untouched


def test_high_frequency_ees_erases_transmitted_ia_in_the_patient() -> None:
    script = IntentScript((IntentBlock(0, 6, "rest", 0.0),))
    s1 = find_electrode(PADDLE_16, "left", "S1").index
    transmitted = {}
    for freq in (5.0, 60.0):
        vp = VirtualPatient(script, np.random.default_rng(0), profile="complete-thoracic")
        source = train_source([(1.0, 6.0, s1, 6.0)], frequency_hz=freq)
        run_patient(vp, 6.0, pulse_source=source, keep_ecog=False)
        trace = vp.trace()
        window = trace["t_s"] > 2.0
        transmitted[freq] = trace["ia_left_soleus_hz"][window].mean()
    assert transmitted[60.0] < 0.5 * transmitted[5.0]
