"""``python -m lib fit ... | head``: a reader that stops early is not an error."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from tests.lmm_reference import ROOT


def test_output_into_a_closed_pipe_prints_no_traceback(tmp_path):
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(3000), 3)  # ~1 MB of JSON: far more than a pipe buffer
    frame = pd.DataFrame({"g": g, "y": rng.normal(size=3000)[g] + rng.normal(size=g.size)})
    path = tmp_path / "many.csv"
    frame.to_csv(path, index=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lib", "fit", str(path), "--outcome", "y", "--group", "g"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.read(10).startswith(b"{")
    proc.stdout.close()  # what `head -c 10` does after its first bytes
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
