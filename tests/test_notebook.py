"""The quickstart notebook (the README's tour) runs in a real Jupyter kernel, renders its
figures, HTML reprs and progress bars, and no warning reaches the user."""

from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed")
nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")

NOTEBOOK = Path(__file__).parents[1] / "examples" / "notebooks" / "quickstart.ipynb"


def _outputs(nb, kind):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if kind(o)]


def test_quickstart_notebook_runs_without_warnings(tmp_path, monkeypatch):
    # a user's kernel draws inline; CI's MPLBACKEND=Agg would make plt.show() warn
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # a cell that raises fails the test (CellExecutionError)
    stderr = _outputs(nb, lambda o: o.output_type == "stream" and o.name == "stderr")
    warned = [o.text for o in stderr if "Warning" in o.text]
    assert not warned, warned
    images = _outputs(nb, lambda o: "image/png" in o.get("data", {}))
    assert len(images) >= 4  # DP-Morse, the shape functions, the scenes, cross-attention
    html = _outputs(nb, lambda o: "text/html" in o.get("data", {}))
    assert any("DPSATClassifier" in o["data"]["text/html"] for o in html)  # the HTML repr
    widgets = _outputs(
        nb, lambda o: "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    )
    assert widgets  # verbose=1: a tqdm.auto progress bar, drawn as a widget
