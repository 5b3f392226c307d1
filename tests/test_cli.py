import subprocess
import sys

from sklpriv import __version__
from sklpriv.__main__ import main
from sklpriv._demo import DemoResult, run_demo


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for name in ("sklpriv", "scikit-learn", "torch", "opacus", "sktime", "skorch"):
        assert name in out
    assert __version__ in out


def test_module_entry_point():
    res = subprocess.run(
        [sys.executable, "-m", "sklpriv", "info"], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    assert "estimators" in res.stdout


def test_demo_runner_writes_report(tmp_path):
    lines = []

    def ok(out):
        (out / "fig.png").write_bytes(b"png")
        return DemoResult(
            rows=[{"estimator": "A", "data": "d", "metric": "m", "value": 0.5}],
            figures=["fig.png"],
            text="hello",
        )

    def broken(out):
        raise RuntimeError("boom")

    status = run_demo(tmp_path, sections=[("ok", ok), ("broken", broken)], stream=lines.append)
    assert status == 1  # a failing section is reported, not hidden
    report = (tmp_path / "report.md").read_text()
    assert "hello" in report and "fig.png" in report and "boom" in report
    assert any(line.startswith("[1/2] ok") for line in lines)
    assert any("| A | d | m | 0.5 |" in line for line in lines)


def test_demo_without_sections(tmp_path):
    lines = []
    assert run_demo(tmp_path, sections=[], stream=lines.append) == 0
    assert "no estimators" in lines[0]


def test_cats_demo_section_reaches_the_user_without_warnings(tmp_path):
    """The happy path is quiet: no FutureWarning (sktime's remember_data) or other warning
    reaches the demo's reader, and CATS beats the seasonal naive forecast."""
    import warnings

    from sklpriv._demo import demo_cats

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = demo_cats(tmp_path)
    assert [str(w.message)[:80] for w in caught] == []
    row = result.rows[0]
    assert row["value"] < row["baseline value"], row
