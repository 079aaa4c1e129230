import numpy as np

from openbsi.patient.spinal import FIBRES, ROOTS, recruitment_curves


def test_recruitment_order_monotone_and_saturating() -> None:
    amp = np.linspace(0, 30, 301)
    curves = recruitment_curves(amp)
    assert set(curves) == set(ROOTS)
    for root in ROOTS:
        onset = {f: amp[np.argmax(curves[root][f] >= 0.05)] for f in FIBRES}
        assert onset["Ia"] < onset["II"] < onset["motor"]
        for f in FIBRES:
            y = curves[root][f]
            assert np.all(np.diff(y) >= 0) and y[0] == 0.0 and y[-1] > 0.95
