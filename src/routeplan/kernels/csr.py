"""Compressed sparse row helpers shared by the backward searches, without numba (a small cold
build imports this and must not pay numba's import)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["reverse_csr"]


def reverse_csr(indptr: npt.NDArray[np.int64], heads: npt.NDArray[np.int32],
                ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The in-edges of every node, as ``(rindptr, order)``: ``order[rindptr[v]:rindptr[v + 1]]``
    are the CSR positions of the edges into ``v``, in CSR order (a stable sort).

    Backward searches (distances to a target, landmarks, the overlay's inner targets, the matrix
    corridor) index the forward arrays through ``order`` instead of keeping a second graph.
    """
    n = indptr.shape[0] - 1
    order = np.argsort(heads, kind="stable").astype(np.int64, copy=False)
    rindptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(heads, minlength=n), out=rindptr[1:])
    return rindptr, order
