"""The ``gradviz`` command line (click): ``gradviz <command> --help`` for each command.

Commands live in their own modules under ``gradviz/cli/`` and are registered below,
explicitly, one import line each: a command module that fails to import fails the whole
CLI loudly instead of vanishing from ``--help``.

Every user error is one line, ``Error: ...``, and a non-zero exit (1; 2 for a bad
option, with click's usage hint), never a traceback. Command modules import only click
at import time and load the engine's heavy companions (networkx, graphviz, rich, the
tracer) inside the command, so ``gradviz --help`` is fast. Options can also come from
the environment: ``GRADVIZ_<COMMAND>_<OPTION>`` (click's ``auto_envvar_prefix``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from gradviz import __version__
from gradviz.cli._common import one_line
from gradviz.cli.demo import demo
from gradviz.cli.diff import diff
from gradviz.cli.doctor import doctor
from gradviz.cli.inspect import inspect
from gradviz.cli.render import render, run
from gradviz.cli.step import step
from gradviz.errors import GradvizError

# Adding a command: import it here (one line, like those above), then add it to COMMANDS
# below, e.g. `from gradviz.cli.diff import diff` for gradviz/cli/diff.py.

__all__ = ["main", "COMMANDS"]

#: Every subcommand, in the order ``gradviz --help`` lists them.
COMMANDS: tuple[click.Command, ...] = (run, render, inspect, step, diff, demo, doctor)


class _Main(click.Group):
    """The ``gradviz`` group: lists commands in COMMANDS order; gradviz errors are one line."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the CLI; it is called ``gradviz`` however it was started (``python -c``)."""
        return super().main(args, prog_name or "gradviz", complete_var, standalone_mode, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GradvizError as err:
            # A command that forgot to convert one of gradviz's errors still gets one line.
            raise click.ClickException(one_line(err)) from err


@click.group(
    "gradviz",
    cls=_Main,
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "GRADVIZ"},
)
@click.version_option(__version__, "-V", "--version", prog_name="gradviz")
def main() -> None:
    """See the graph behind loss.backward(), and step through it.

    Start with `gradviz demo`, which draws the bundled samples to PDF files.
    """


for _command in COMMANDS:
    main.add_command(_command)
