"""How many BLAS threads a fit uses.

Most matrices of a fit are tiny (p x p, q x q): multithreaded BLAS only adds
wake-up latency, which measured 0.3 s per fit on a busy 2-core machine, so fits
run single-threaded. The exception is a large dense diagonal block of the
blocked factor (crossed factors with many levels), whose Cholesky is the bulk
of each solve and does run faster on both cores.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from functools import cache

from threadpoolctl import ThreadpoolController

#: A dense block at least this large is factorised with every core.
PARALLEL_BLOCK = 512


@cache
def _controller() -> ThreadpoolController:
    """Found once: scanning the loaded BLAS libraries costs ~0.4 ms per scan."""
    return ThreadpoolController()


def single_thread() -> AbstractContextManager:
    return _controller().limit(limits=1, user_api="blas")


def all_cores() -> AbstractContextManager:
    return _controller().limit(limits=os.cpu_count() or 1, user_api="blas")
