"""Routing kernels on plain arrays (CSR adjacency); no networkx, no geometry.

Conventions shared by every kernel:

* ``indptr`` (int64, n+1) and ``heads`` (int32, m): out-edges of node ``u`` are the CSR
  positions ``indptr[u]:indptr[u+1]``; a position *is* the edge id inside a kernel.
* ``time_s`` (float64, m): travel time, strictly positive.
* ``label`` (int32, m): the charging cell of the edge (a constituency index), or ``-1`` for a
  free edge (an exempt road, or an edge outside every polygon left uncharged).
* ``label_charge`` (int64, n_labels): pence charged the first time a label is used today;
  ``0`` means free (already charged today, target seat), ``-1`` means forbidden (hard avoid).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FORBIDDEN = -1


def csr_from_edges(
    n_nodes: int, tails: npt.ArrayLike, heads: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Sort an edge list into CSR form.

    Returns ``(indptr, heads_sorted, order)`` where ``order[k]`` is the input index of the edge
    at CSR position ``k`` (a stable sort, so equal tails keep their input order: deterministic).
    """
    tails = np.asarray(tails, dtype=np.int64)
    heads = np.asarray(heads, dtype=np.int64)
    order = np.argsort(tails, kind="stable")
    counts = np.bincount(tails, minlength=n_nodes)
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, heads[order].astype(np.int32), order.astype(np.int64)
