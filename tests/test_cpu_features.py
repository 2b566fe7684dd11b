"""The same seed gives the same tables whatever SIMD code numpy and numba pick: a run in a
subprocess with numpy's AVX2/FMA loops switched off (NPY_DISABLE_CPU_FEATURES) and numba
compiling for a generic x86-64 (NUMBA_CPU_NAME=generic, no FMA or AVX) equals a run here.

This machine has no AVX-512, so the AVX-512 paths of the issue cannot be exercised here; what
is argued instead: every float that feeds back into the dynamics (the rules, capacity) is
computed by scalar code (numba without fastmath, so no contraction into FMA, and
`group.half_power`/`group.mean_capacity`), and integer outputs are counts."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pandas as pd
from conftest import REPO

CODE = """
import hashlib, sys
import pandas as pd
sys.path.insert(0, "tests")
import kernel_cases
daily, people = kernel_cases.run("open_population_interventions")
print(hashlib.sha256(pd.util.hash_pandas_object(daily).values.tobytes()
      + pd.util.hash_pandas_object(people).values.tobytes()).hexdigest())
"""


def _digest(daily: pd.DataFrame, people: pd.DataFrame) -> str:
    data = pd.util.hash_pandas_object(daily).values.tobytes()
    return hashlib.sha256(data + pd.util.hash_pandas_object(people).values.tobytes()).hexdigest()


def test_tables_identical_without_avx2_in_numpy_and_numba(tmp_path):
    import kernel_cases

    here = _digest(*kernel_cases.run("open_population_interventions"))
    env = os.environ | {
        "NPY_DISABLE_CPU_FEATURES": "X86_V3",
        "NUMBA_CPU_NAME": "generic",
        "NUMBA_CACHE_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", CODE], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == here
