"""Suite-wide settings.

Hypothesis runs derandomized by default, so that a fuzz test gives the same cases on every
machine and a landing is never decided by luck; `HYPOTHESIS_PROFILE=explore` draws fresh cases
(run it when hunting for new failures, as the fuzz tests did to find the ABF section bug).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
