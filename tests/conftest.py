"""The hypothesis profile the fuzz modules share (tests/*/test_fuzz.py).

Bounded and repeatable: KATIB_PY_FUZZ_EXAMPLES examples a test (120 by default), the same ones
every run (derandomized), no example database written, no per-example deadline (the servers run
on a shared machine; each call has its own gRPC timeout instead).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ_EXAMPLES = int(os.environ.get("KATIB_PY_FUZZ_EXAMPLES", "120"))

settings.register_profile(
    "fuzz",
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
