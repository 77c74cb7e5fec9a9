"""Drive ``gradviz step`` on a real terminal: tmux runs it, we type and read the screen."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.tmux

ROOT = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")

SCRIPT = """\
import gradviz

a = gradviz.tensor([1.0, 2.0], requires_grad=True)
b = gradviz.tensor([1.0, 2.0], requires_grad=True)
d = a - b                        # all zeros
distance = (d * d).sum().sqrt()  # sqrt'(0) is Inf, and Inf * 0 is NaN
distance.backward()
print("a.grad after backward:", a.grad)
"""


# The prompt waiting for a command (capture-pane drops its trailing space).
PROMPT = r"^\(gradviz\)\s*\Z"


class Screen:
    """A detached tmux session running one command; type into it and read its screen.

    NOTE: each Screen has its own tmux server (``-L``): when the last session of a shared
    server is killed the server exits, and a session started meanwhile by the next test
    fails with "server exited unexpectedly".
    """

    def __init__(self, command: str, tmp: Path) -> None:
        self.name = f"gradviz-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.status_file = tmp / f"{self.name}.status"
        runner = tmp / f"{self.name}.sh"
        runner.write_text(
            f"cd {ROOT}\nexport PYTHONPATH={ROOT}\nexport TERM=xterm-256color\n"
            f"unset NO_COLOR\n{command}\necho $? > {self.status_file}\n"
        )
        self._tmux("new-session", "-d", "-s", self.name, "-x", "120", "-y", "60", f"bash {runner}")
        self._tmux("set-option", "-t", self.name, "remain-on-exit", "on")
        self.socket = Path(self._tmux("display-message", "-p", "#{socket_path}").strip())

    def _tmux(self, *args: str, check: bool = True) -> str:
        assert TMUX is not None
        result = subprocess.run(
            [TMUX, "-L", self.name, *args], capture_output=True, text=True, check=check
        )
        return result.stdout

    def text(self) -> str:
        """Return the whole pane (scrollback included), wrapped lines joined."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-2000", "-t", self.name)

    def wait_for(self, pattern: str, *, prompt: bool = False, timeout: float = 60.0) -> str:
        """Wait until ``pattern`` is on the screen (and, with ``prompt``, the prompt is back)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.text().rstrip("\n")
            found = re.search(pattern, screen, re.MULTILINE)
            if found and (not prompt or re.search(PROMPT, screen[found.end() :], re.MULTILINE)):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} did not appear on the screen:\n{screen}")

    def type(self, line: str) -> None:
        """Type ``line`` and press Enter."""
        self._tmux("send-keys", "-t", self.name, "-l", line)
        self._tmux("send-keys", "-t", self.name, "Enter")

    def exit_status(self, timeout: float = 60.0) -> int:
        """Wait for the program to exit and return its exit status.

        NOTE: the runner script writes the status to a file: tmux 3.3 now and then does
        not notice that a pane's process exited (it stays a zombie), so ``pane_dead``
        cannot be relied on.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status_file.exists():
                text = self.status_file.read_text().strip()
                if text:
                    return int(text)
            time.sleep(0.1)
        raise AssertionError(f"the program did not exit:\n{self.text()}")

    def close(self) -> None:
        """Kill this test's tmux server (and with it the session)."""
        self._tmux("kill-server", check=False)
        # NOTE: the server leaves its socket file behind; one per test would pile up.
        if self.socket.name == self.name:
            self.socket.unlink(missing_ok=True)


@pytest.fixture
def screen_for(tmp_path: Path) -> Iterator[object]:
    if TMUX is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    script = tmp_path / "nan_norm.py"
    script.write_text(SCRIPT)
    screens: list[Screen] = []

    def start(*options: str) -> Screen:
        command = (
            f"{sys.executable} -c 'from gradviz.cli.step import step; step()' "
            f"{script} {' '.join(options)}"
        )
        screen = Screen(command, tmp_path)
        screens.append(screen)
        return screen

    yield start
    for screen in screens:
        screen.close()


def test_find_the_nan_origin_on_a_terminal(screen_for) -> None:  # type: ignore[no-untyped-def]
    screen = screen_for()
    first = screen.wait_for(PROMPT)
    assert "[1/6] SqrtBackward0 [n7] (about to run)" in first
    screen.type("b nan")
    screen.wait_for(r"Breakpoint 1: nan \(where NaN/Inf first appear\)", prompt=True)
    screen.type("c")
    stop = screen.wait_for(r"\[1/6\] SqrtBackward0 \[n7\] \(just ran\)", prompt=True)
    assert "SqrtBackward0 [n7] (just ran)" in stop
    assert "Inf origin: produced Inf from finite incoming gradients" in stop
    screen.type("p grad_out")
    screen.wait_for(r"grad_out\[0\]: \(\) float32\s+inf", prompt=True)
    screen.type("c")
    stop = screen.wait_for(r"MulBackward0 \[n5\] \(just ran\)", prompt=True)
    assert "turned Inf into NaN" in stop
    screen.type("c")
    end = screen.wait_for(r"a\.grad after backward: tensor\(\[nan, nan\]\)")
    assert "backward finished: 6 nodes ran" in end
    assert "passed non-finite gradients on (4): SumBackward0 [n6], SubBackward0 [n4]" in end
    assert screen.exit_status() == 0


def test_quit_on_a_terminal_stops_the_backward(screen_for) -> None:  # type: ignore[no-untyped-def]
    screen = screen_for("--anomaly")
    screen.wait_for(PROMPT)
    screen.type("w")
    where = screen.wait_for(r"distance = \(d \* d\)\.sum\(\)\.sqrt\(\)", prompt=True)
    assert "SqrtBackward0 [n7] was made by:" in where
    assert re.search(r"^> /\S+/nan_norm\.py\(6\)<module>\(\)$", where, re.MULTILINE)
    assert "click" not in where and "gradviz/cli" not in where and "<string>" not in where
    screen.type("s")
    screen.wait_for(r"\[2/6\] SumBackward0 \[n6\] \(about to run\)", prompt=True)
    screen.type("q")
    end = screen.wait_for(r"quit: the backward was stopped; every \.grad is as it was before it")
    assert "a.grad after backward" not in end
    assert screen.exit_status() == 0
