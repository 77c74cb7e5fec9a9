"""The benchmark harness's own pieces (the timings themselves are not tested)."""

from __future__ import annotations

import sys

from benchmarks import suite


def test_wall_reads_the_time_a_process_reports() -> None:
    # The child prints a made-up duration; the harness must return it, not its own clock.
    assert suite._wall([sys.executable, "-c", "print('x'); print(0.125)"], 2, reported=True) == [
        0.125,
        0.125,
    ]


def test_wall_times_the_whole_process_by_default() -> None:
    (seconds,) = suite._wall([sys.executable, "-c", "import time; time.sleep(0.2)"], 1)
    assert seconds >= 0.2


def test_context_rows_get_no_ratio(capsys: object) -> None:
    result = suite.Result(
        "import statement (new process)",
        "ms",
        1e3,
        {
            "gradviz": [0.1],
            "numpy": [0.05],
            "gradviz after numpy": [0.02],
            "python -c pass": [0.04],
        },
    )
    suite._print([result])
    lines = capsys.readouterr().out.splitlines()  # type: ignore[attr-defined]
    rows = [line for line in lines if line.startswith("import statement")]
    # In the harness's impl order: gradviz, numpy, then the two context rows.
    assert [row.split()[4] for row in rows] == ["gradviz", "numpy", "gradviz", "python"]
    assert "gradviz/numpy = 2.00x" in rows[1]
    assert "=" not in rows[0] + rows[2] + rows[3]
