"""How many BLAS threads a fit uses: one.

Most matrices of a fit are tiny (p x p, q x q): multithreaded BLAS only adds
wake-up latency (0.3 s per fit on a busy 2-core machine). Even the one large
dense block of a crossed model (InstEval's 1,128 lecturers) is faster on one
thread here: with other processes on the two cores, OpenBLAS's threads spin
and a solve took 0.64 s on two threads against 27 ms on one (measured with
the app's server and tests running). A Streamlit server fits in many threads
at once anyway, so one BLAS thread per fit is also what uses the cores best.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    """Found once: scanning the loaded BLAS libraries costs ~0.4 ms per scan."""
    return ThreadpoolController()


def single_thread() -> AbstractContextManager:
    return _controller().limit(limits=1, user_api="blas")
