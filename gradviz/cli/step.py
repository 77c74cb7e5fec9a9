"""``gradviz step``: step through a backward pass, live in a script or replayed from a trace."""

from __future__ import annotations

import traceback
from pathlib import Path

import click

from gradviz.cli._common import one_line, split_target, user_errors

__all__ = ["step"]


def _script_line(err: BaseException, script: Path) -> str:
    """Return ``script.py:LINE`` of the deepest frame of ``script`` in the traceback."""
    wanted = script.resolve()
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        try:
            if Path(frame.filename).resolve() == wanted:
                line = frame.lineno
        except OSError:
            continue
    return f"{script.name}:{line}" if line is not None else script.name


@click.command("step", context_settings={"ignore_unknown_options": True})
@click.argument("target", metavar="TARGET")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "-c",
    "--commands",
    default=None,
    metavar="CMDS",
    help='Debugger commands separated by ";" (e.g. "s;n 3;p grad_out;c"), instead of '
    "reading them from the terminal or a pipe.",
)
@click.option(
    "--anomaly",
    is_flag=True,
    help="Run the script in anomaly mode, so `w` shows the forward line that made each node.",
)
@click.option(
    "--iteration",
    type=int,
    default=None,
    metavar="K",
    help="Replay: which backward pass of the trace (default: the last). Same as TARGET:K.",
)
@user_errors
def step(
    target: str, args: tuple[str, ...], commands: str | None, anomaly: bool, iteration: int | None
) -> None:
    """Step through backward node by node, as pdb steps through code.

    TARGET is a Python script (run live: the debugger stops before the first backward
    node; ARGS are passed to the script) or a trace file recorded by `gradviz run`
    (train.gvz, or train.gvz:3 for iteration 3), replayed. Type h at the prompt for the
    commands: s, n N, c, b nan, p grad_out, w, l, g, why PARAM, q.
    """
    # NOTE: imported here, not at the top, so `gradviz --help` stays fast.
    from gradviz.debugger import DebuggerError, replay  # noqa: PLC0415
    from gradviz.debugger import step as step_script  # noqa: PLC0415

    path, suffix_iteration = split_target(target)
    if path.suffix == ".py":
        if suffix_iteration is not None or iteration is not None:
            raise click.UsageError("--iteration and TARGET:K are for trace files, not scripts.")
        try:
            step_script(path, args, commands=commands, anomaly=anomaly)
        except SystemExit as stop:
            detail = f"status {stop.code}" if isinstance(stop.code, int) else f"{stop.code}"
            raise click.ClickException(f"{path.name} exited with {detail}") from None
        except DebuggerError:
            raise  # the script could not be read: user_errors makes it one line
        except Exception as err:  # any error of the user's script is reported in one line
            where = _script_line(err, path)
            raise click.ClickException(
                one_line(f"{where}: the script raised {type(err).__name__}: {err}")
            ) from err
        return
    if args:
        raise click.UsageError(f"extra arguments {' '.join(args)!r}: only scripts take ARGS.")
    if iteration is not None and suffix_iteration is not None and iteration != suffix_iteration:
        raise click.UsageError(
            f"TARGET {target!r} asks for iteration {suffix_iteration} but --iteration is "
            f"{iteration}. Give one of them."
        )
    replay(path, iteration if iteration is not None else suffix_iteration, commands=commands)
