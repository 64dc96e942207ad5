"""The worked example runs top to bottom from a clean kernel (CI executes it)."""

import os

import nbformat
import pytest
from datapaths import DATA, REPO
from nbclient import NotebookClient


@pytest.mark.integration
def test_worked_example_runs(tmp_path, cache_root):
    nb = nbformat.read(REPO / "notebooks" / "worked_example.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks with outputs stripped"
    os.environ["ROUTEPLAN_DATA"] = str(DATA)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "saving £461.00" in text
    assert "Newport West and Islwyn" in text
    assert "tour: saving £461.00 over the fastest legs" in text
