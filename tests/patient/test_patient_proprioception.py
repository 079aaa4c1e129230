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


def _resting_trace(stretch_reflex_gain: float | None) -> dict[str, np.ndarray]:
    script = IntentScript((IntentBlock(0, 2, "rest", 0.0),))
    kwargs = {} if stretch_reflex_gain is None else {"stretch_reflex_gain": stretch_reflex_gain}
    vp = VirtualPatient(script, np.random.default_rng(0), profile="complete-thoracic", **kwargs)
    vp.advance(2.0)
    return vp.trace()


def test_stretch_reflex_is_on_and_follows_the_stretch_after_the_loop_delay() -> None:
    from openbsi.patient.virtual import STRETCH_REFLEX_DELAY_S

    # The belt extends the stance hips: iliopsoas lengthens, its Ia fire above rest.
    on, off = _resting_trace(None), _resting_trace(0.0)
    assert off["act_left_iliopsoas"].max() == 0.0  # no EES, no voluntary drive: silence
    stretched = np.flatnonzero(on["ia_left_iliopsoas_hz"] > 12.0)
    excited = np.flatnonzero(on["act_left_iliopsoas"] > 1e-4)
    assert stretched.size and excited.size
    lag_s = on["t_s"][excited[0]] - on["t_s"][stretched[0]]
    assert lag_s >= STRETCH_REFLEX_DELAY_S["iliopsoas"] - 1e-9
    # Distal loops are longer than proximal ones (conduction distance).
    assert STRETCH_REFLEX_DELAY_S["soleus"] > STRETCH_REFLEX_DELAY_S["iliopsoas"]
