"""Every notebook in colabs/ runs top to bottom (small settings in its parameters cell) and is
committed without outputs."""

import os

import nbclient
import nbformat
import pytest

COLABS = os.path.join(os.path.dirname(__file__), "..", "colabs")
# The parameters cell of each notebook, as the suite runs it ({tmp}: a fresh directory).
SMALL = {
    "functional_api.ipynb": "STEPS = 50\nNUM_POINTS = 128\nNUM_PARTICLES = 64",
    "evaluation.ipynb": "STEPS = 20\nNUM_SAMPLES = 500\nWORKDIR = {tmp!r}",
    "twae_mnist.ipynb": "STEPS = 20\nCVT_SAMPLES = 5000\nWORKDIR = {tmp!r}",
    "quickstart.ipynb": "STEPS = 30\nAE_OT_STEPS = 3\nNUM_POINTS = 128\nDATASETS = ('moons', 'ring')\nWORKDIR = {tmp!r}",
}


def _notebooks():
  return sorted(f for f in os.listdir(COLABS) if f.endswith(".ipynb"))


def _read(name):
  return nbformat.read(os.path.join(COLABS, name), as_version=4)


def test_every_notebook_is_run_and_stripped():
  assert _notebooks() and set(_notebooks()) == set(SMALL)
  for name in _notebooks():
    nb = _read(name)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name}: needs exactly one cell tagged 'parameters'"
    for cell in nb.cells:
      if cell.cell_type == "code":
        assert cell.outputs == [] and cell.execution_count is None, f"{name}: outputs are not stripped"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_notebook_runs(name, monkeypatch, tmp_path):
  monkeypatch.setenv("MPLBACKEND", "Agg")
  # One CPU device, as on Colab.
  monkeypatch.setenv("XLA_FLAGS", "")
  nb = _read(name)
  for cell in nb.cells:
    if "parameters" in cell.metadata.get("tags", []):
      cell.source = SMALL[name].format(tmp=str(tmp_path / "run"))
  client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": COLABS}})
  client.execute()  # raises CellExecutionError, with the cell and traceback, if any cell fails
  errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
  assert not errors
