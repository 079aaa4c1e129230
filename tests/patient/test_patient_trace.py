import numpy as np
import pytest

from openbsi.patient.trace import TraceBuffer


def test_trace_buffer_grows_and_keeps_rows_in_order() -> None:
    buf = TraceBuffer(initial_rows=3)
    keys = ("t_s", "x")
    for i in range(10):
        buf.append(np.array([i * 0.01, i**2]), keys)
    out = buf.as_dict()
    assert len(buf) == 10
    assert np.allclose(out["t_s"], np.arange(10) * 0.01)
    assert np.allclose(out["x"], np.arange(10) ** 2)
    with pytest.raises(ValueError, match="columns"):
        buf.append(np.array([1.0]), ("t_s",))
