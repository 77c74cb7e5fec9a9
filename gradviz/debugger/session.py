"""Step through a backward pass node by node, live or over a recorded trace, like pdb.

Two ways in, one command loop:

- **Live** (:class:`Debugger`): a listener on the engine's event bus. Before each backward
  node runs (``NodeWillRun``) it may stop and read commands; the engine waits, because
  the listener has not returned. A breakpoint on NaN/Inf/norm is checked once the node
  has run (``NodeExecuted``) and stops right after it, before anything else runs.
  ``q`` raises :class:`~gradviz.engine.autograd.BackwardAborted` from the listener: the
  engine stops and restores every ``.grad`` it had written, so quitting leaves each leaf
  exactly as it was before the backward. The listener is always unsubscribed on exit.
- **Replay** (:func:`replay`): the same session over a graph recorded by
  ``gradviz.trace.record`` (or loaded from a trace file), in its execution order. Recorded
  with ``values=True`` it prints gradient arrays; without, their summaries.

Both show the graph through the trace schema (``gradviz.trace``): live, the debugger
captures the graph when the backward starts and fills in each node's gradients as it
runs, so ``l``, ``g`` and the stop view read the same data in both modes.

Commands are read from a terminal, from a ``commands`` string (``"s;n 3;p grad_out;c"``)
or from a pipe; see :data:`HELP`. When scripted commands or a pipe run out, the session
continues to the end without stopping; on a terminal, end of input (Ctrl-D) quits.

The debugger only reads engine state; it pauses the engine, never changes it.
"""

from __future__ import annotations

import builtins
import functools
import os
import re
import site
import sys
import sysconfig
import traceback
import types
import weakref
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import networkx as nx

from gradviz.debugger.nan import Finding, NanTracker
from gradviz.debugger.why import why_no_grad
from gradviz.engine import events
from gradviz.engine.autograd import BackwardAborted
from gradviz.engine.function import AccumulateGrad, Node
from gradviz.engine.tensor import Tensor
from gradviz.errors import DebuggerError, GradvizError
from gradviz.renderers import console as views
from gradviz.trace import schema
from gradviz.trace.capture import build, param_names, roots_of
from gradviz.trace.summary import host_copy, summarize

__all__ = [
    "HELP",
    "PROMPT",
    "Breakpoint",
    "Debugger",
    "DebuggerError",
    "parse_breakpoint",
    "replay",
    "step",
]

PROMPT = "(gradviz) "

HELP = """\
Commands (pdb's habits; an empty line repeats the last command):
  s, step              run this node and stop before the next one
  n [N], next [N]      run N nodes (default 1), then stop
  c, continue          run until a breakpoint or the end of the backward
  b [SPEC], break      set a breakpoint; without SPEC list them. SPEC is:
                         OP       a node name: MulBackward0, or mul for any MulBackward
                         MODULE   a module path: fc1, layers.0 (its submodules too)
                         nan      the first node that makes NaN/Inf from finite gradients
                         inf      a node that makes Inf from Inf-free gradients
                         norm>X   a node that produces a gradient with norm above X
                         norm<X   a node that produces a gradient with norm below X
  cl [N], clear [N]    clear breakpoint N, or all of them
  p grad_in [I]        print the gradients this node received (one per output)
  p grad_out [I]       print the gradients it produced (one per input)
  p saved [NAME]       list its saved tensors, or print one
  w, where             the lines of your code that made this node (innermost last)
  l, list              the node's neighbourhood as a small tree
  g [PATH]             render the graph so far, this node highlighted (gradviz-step.svg)
  why PARAM            why PARAM gets no gradient
  h [CMD], help [CMD]  this help
  q, quit              stop the backward; every .grad stays as it was before it"""

_ALIASES = {
    "s": "step",
    "step": "step",
    "n": "next",
    "next": "next",
    "c": "continue",
    "cont": "continue",
    "continue": "continue",
    "b": "break",
    "break": "break",
    "cl": "clear",
    "clear": "clear",
    "p": "print",
    "print": "print",
    "w": "where",
    "where": "where",
    "bt": "where",
    "l": "list",
    "list": "list",
    "g": "graph",
    "graph": "graph",
    "why": "why",
    "h": "help",
    "help": "help",
    "?": "help",
    "q": "quit",
    "quit": "quit",
    "exit": "quit",
}


class _Quit(Exception):  # noqa: N818 - an internal signal, not an error
    """Raised inside the command loop by ``q``."""


# ---------------------------------------------------------------------------- breakpoints


@dataclass
class Breakpoint:
    """A condition that stops the session.

    Attributes:
        number: shown by ``b`` and used by ``cl N``.
        kind: ``"node"`` (an op name or a module path), ``"nan"``, ``"inf"``,
            ``"norm>"`` or ``"norm<"``.
        value: the name or path for ``"node"``, the threshold for norms.
        spec: the breakpoint as typed.
        hits: how often it stopped the session.
    """

    number: int
    kind: str
    value: Any
    spec: str
    hits: int = 0

    def matches_node(self, name: str, module: str | None) -> bool:
        """Return True when a ``"node"`` breakpoint matches a node's name or module."""
        if self.kind != "node":
            return False
        wanted = str(self.value)
        if name == wanted or name.lower() == wanted.lower():
            return True
        short = name.split("Backward")[0] if "Backward" in name else name
        if short.lower() == wanted.lower() and short:
            return True
        if module and (module == wanted or module.startswith(wanted + ".")):
            return True
        return False

    def describe(self) -> str:
        """Return ``'1: nan (where NaN/Inf first appear), hit 2 times'``-style text."""
        if self.kind == "node":
            meaning = "op name or module"
        elif self.kind == "nan":
            meaning = "where NaN/Inf first appear"
        elif self.kind == "inf":
            meaning = "where Inf first appears"
        else:
            side = "above" if self.kind == "norm>" else "below"
            meaning = f"a produced gradient's norm {side} {self.value:g}"
        hits = f", hit {self.hits} time{'s' if self.hits != 1 else ''}" if self.hits else ""
        return f"{self.number}: {self.spec} ({meaning}){hits}"


def parse_breakpoint(spec: str, number: int = 1) -> Breakpoint:
    """Parse a breakpoint spec: an op name, a module path, ``nan``, ``inf``, ``norm>X``.

    Args:
        spec: the text after ``b``.
        number: the breakpoint's number.

    Returns:
        The breakpoint.

    Raises:
        DebuggerError: the spec is empty, or a norm threshold is not a number.

    Example:
        >>> parse_breakpoint("norm>1e3").value
        1000.0
    """
    text = spec.strip()
    if not text:
        raise DebuggerError("b needs a spec: an op name, a module path, nan, inf or norm>X.")
    low = text.lower().replace(" ", "")
    if low in ("nan", "inf"):
        return Breakpoint(number, low, None, low)
    for op in (">", "<"):
        if low.startswith("norm" + op):
            raw = low[5:]
            try:
                threshold = float(raw)
            except ValueError:
                raise DebuggerError(
                    f"b {text}: {raw!r} is not a number. Fix: b norm{op}1e3"
                ) from None
            return Breakpoint(number, "norm" + op, threshold, f"norm{op}{raw}")
    if any(ch.isspace() for ch in text):
        raise DebuggerError(f"b {text}: one op name or module path at a time (got {text!r}).")
    return Breakpoint(number, "node", text, text)


# ---------------------------------------------------------------------------- input


class _Input:
    """Where commands come from; ``read`` returns None at the end of input."""

    echo = True  # print the prompt and the command (not a terminal)
    quit_on_eof = False

    def read(self, prompt: str) -> str | None:  # pragma: no cover - interface
        raise NotImplementedError


class _Scripted(_Input):
    def __init__(self, commands: str) -> None:
        parts: list[str] = []
        for line in commands.replace("\r", "").split("\n"):
            parts.extend(p.strip() for p in line.split(";"))
        # NOTE: a trailing ";" or newline is not an extra empty (repeat) command.
        while parts and parts[-1] == "":
            parts.pop()
        self._lines = parts

    def read(self, prompt: str) -> str | None:
        return self._lines.pop(0) if self._lines else None


class _Stream(_Input):
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def read(self, prompt: str) -> str | None:
        line = self._stream.readline()
        if not line:
            return None
        return line.rstrip("\r\n")


class _Terminal(_Input):
    echo = False
    quit_on_eof = True

    def __init__(self, console: Any) -> None:
        self._console = console
        try:
            import readline  # noqa: F401, PLC0415 - line editing and history for input()
        except ImportError:  # pragma: no cover - platforms without readline
            pass

    def read(self, prompt: str) -> str | None:
        try:
            return input(prompt)
        except EOFError:
            self._console.print()
            return None
        except KeyboardInterrupt:
            self._console.print()
            return "q"


def _make_input(commands: str | None, stdin: TextIO | None, console: Any) -> _Input:
    if commands is not None:
        return _Scripted(commands)
    stream = sys.stdin if stdin is None else stdin
    if stdin is None and getattr(stream, "isatty", lambda: False)():
        return _Terminal(console)
    return _Stream(stream)


# ---------------------------------------------------------------------------- the session


@dataclass
class _Stop:
    """Where the session is stopped."""

    node_id: str
    position: tuple[int, int]
    phase: str  # "before" | "after" | "replay"
    notes: list[str] = field(default_factory=list)


class _Session:
    """The command loop and stepping state, shared by live and replay sessions.

    A driver (live or replay) tells it about each node with :meth:`visit_before` and
    :meth:`visit_after`; the session decides whether to stop and, when it does, reads and
    runs commands until one resumes. Values to print come from the driver's
    ``values(node_id, what)`` callback, forward stacks from ``stack(node_id)``, and
    ``why`` from ``why(name)``.
    """

    def __init__(
        self,
        console: Any,
        source: _Input,
        *,
        values: Callable[[str, str], Any],
        stack: Callable[[str], list[str] | None],
        why: Callable[[str], str],
        graph_path: str = "gradviz-step.svg",
    ) -> None:
        self.console = console
        self.source = source
        self.values = values
        self.stack = stack
        self.why = why
        self.graph_path = graph_path
        #: the stepped script's file name as its frames carry it: ``w`` shows its frames
        #: and those they called, never the frames that ran the script.
        self.script: str | None = None
        self.graph: nx.DiGraph | None = None
        self.breakpoints: list[Breakpoint] = []
        self._next_number = 1
        self.remaining: int | None = 1  # stop at the very first node
        self.detached = False
        self.quitting = False
        self.last_command = ""
        self.tracker = NanTracker()
        self.stop: _Stop | None = None
        self.stops = 0
        #: ``(node id, node name)`` of every node visited, in execution order, over every
        #: backward of the session.
        self.visited: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ deciding to stop

    def begin(self, graph: nx.DiGraph) -> None:
        """Start on a new backward pass over ``graph``."""
        self.graph = graph
        self.tracker = NanTracker()

    def visit_before(self, node_id: str, position: tuple[int, int], *, phase: str) -> None:
        """Called before a node runs (replay: at each node); stops when it should.

        Raises:
            _Quit: the user quit.
        """
        if self.quitting:
            return
        assert self.graph is not None
        # Replay: the node's outputs are known already, so output breakpoints and the
        # NaN classification are evaluated at its one stop.
        self.visited.append((node_id, str(self.graph.nodes[node_id].get("label"))))
        output_notes = self._output_conditions(node_id) if phase == "replay" else []
        if self.detached:
            return
        data = self.graph.nodes[node_id]
        notes = []
        stop = False
        if self.remaining is not None:
            self.remaining -= 1
            if self.remaining <= 0:
                stop = True
        name = str(data.get("name") or data.get("label"))
        for bp in self.breakpoints:
            if bp.matches_node(name, data.get("module")):
                bp.hits += 1
                notes.append(f"Breakpoint {bp.describe()}")
                stop = True
        notes.extend(output_notes)
        stop = stop or bool(output_notes)
        if stop:
            self._stop_at(_Stop(node_id, position, phase, notes))

    def visit_after(self, node_id: str, position: tuple[int, int], *, live: bool) -> None:
        """Called once a node ran (replay: right after :meth:`visit_before`).

        Classifies NaN/Inf and, live, stops when an output breakpoint fires.

        Raises:
            _Quit: the user quit.
        """
        assert self.graph is not None
        if self.quitting:
            return
        if not live:
            return
        notes = self._output_conditions(node_id)
        if self.detached:
            return
        if notes:
            self._stop_at(_Stop(node_id, position, "after", notes))

    def _observe(self, node_id: str) -> Finding | None:
        assert self.graph is not None
        data = self.graph.nodes[node_id]
        return self.tracker.observe(
            node_id,
            str(data.get("name") or data.get("label")),
            data.get("grad_in") or [],
            data.get("grad_out") or [],
        )

    def _output_conditions(self, node_id: str) -> list[str]:
        """Classify the node and return the notes of the output breakpoints it fires."""
        assert self.graph is not None
        finding = self._observe(node_id)
        notes = []
        if finding is not None and finding.kind == "origin":
            for bp in self.breakpoints:
                if bp.kind == "nan" or (bp.kind == "inf" and finding.creates_inf):
                    bp.hits += 1
                    notes.append(f"Breakpoint {bp.describe()}")
                    break
            if notes:
                notes.append(f"{finding.what} origin: {finding.reason}")
        data = self.graph.nodes[node_id]
        produced = [g for g in (data.get("grad_out") or []) if g]
        if not produced:
            produced = [g for g in (data.get("grad_in") or []) if g]
        for bp in self.breakpoints:
            if bp.kind not in ("norm>", "norm<"):
                continue
            for g in produced:
                norm = float(g.get("norm") or 0.0)
                if (bp.kind == "norm>" and norm > bp.value) or (
                    bp.kind == "norm<" and norm < bp.value
                ):
                    bp.hits += 1
                    notes.append(
                        f"Breakpoint {bp.describe()}: gradient norm {views.fmt_number(norm)}"
                    )
                    break
        return notes

    # ------------------------------------------------------------------ the loop

    def _stop_at(self, stop: _Stop) -> None:
        assert self.graph is not None
        self.stop = stop
        self.stops += 1
        self.remaining = None
        if stop.phase == "after" and self.tracker.findings:
            last = self.tracker.findings[-1]
            if last.node == stop.node_id and last.kind != "origin":
                stop.notes.append(f"{last.what}: {last.reason}")
        self._say(
            views.node_view(
                self.graph,
                stop.node_id,
                position=stop.position,
                phase=stop.phase,
                notes=stop.notes,
            )
        )
        while True:
            line = self.source.read(PROMPT)
            if line is None:
                if self.source.quit_on_eof:
                    self._echo("q")
                    self._quit()
                self._say("(end of commands: continuing to the end without stopping)")
                self.detached = True
                return
            if self.source.echo:
                self._echo(line)
            if not line.strip():
                line = self.last_command
                if not line:
                    continue
            else:
                self.last_command = line
            try:
                if self._run(line.strip()):
                    return
            except DebuggerError as err:
                self._say(f"*** {err}")

    def _say(self, item: Any = "") -> None:
        _say(self.console, item)

    def _echo(self, line: str) -> None:
        self._say(f"{PROMPT}{line}".rstrip())

    def _quit(self) -> None:
        self.quitting = True
        raise _Quit

    def _run(self, line: str) -> bool:
        """Run one command; return True when it resumes the backward."""
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        command = _ALIASES.get(word.lower())
        if command is None:
            raise DebuggerError(f"unknown command {word!r}. Type h for the list of commands.")
        handler = getattr(self, f"_cmd_{command}")
        return bool(handler(rest))

    def _cmd_step(self, rest: str) -> bool:
        if rest:
            raise DebuggerError("s takes no argument; to run several nodes use n N.")
        self.remaining = 1
        return True

    def _cmd_next(self, rest: str) -> bool:
        count = 1
        if rest:
            try:
                count = int(rest)
            except ValueError:
                raise DebuggerError(f"n {rest}: N must be a whole number, like n 3.") from None
            if count < 1:
                raise DebuggerError(f"n {rest}: N must be at least 1.")
        self.remaining = count
        return True

    def _cmd_continue(self, rest: str) -> bool:
        self.remaining = None
        return True

    def _cmd_quit(self, rest: str) -> bool:
        self._quit()
        return True  # pragma: no cover - _quit raises

    def _cmd_help(self, rest: str) -> bool:
        if rest:
            command = _ALIASES.get(rest.lower())
            if command is None:
                raise DebuggerError(f"no command {rest!r}. Type h for the list of commands.")
            keys = {k for k, v in _ALIASES.items() if v == command}
            lines = [
                ln
                for ln in HELP.splitlines()[1:]
                if ln.strip() and ln.split()[0].rstrip(",") in keys
            ]
            for line in lines:
                self._say(line)
            if command == "break":
                for line in HELP.splitlines():
                    if line.startswith("                         "):
                        self._say(line)
            return False
        for line in HELP.splitlines():
            self._say(line)
        return False

    def _cmd_break(self, rest: str) -> bool:
        if not rest:
            if not self.breakpoints:
                self._say("no breakpoints")
            for bp in self.breakpoints:
                self._say(bp.describe())
            return False
        bp = parse_breakpoint(rest, self._next_number)
        self._next_number += 1
        self.breakpoints.append(bp)
        self._say(f"Breakpoint {bp.describe()}")
        return False

    def _cmd_clear(self, rest: str) -> bool:
        if not rest:
            count = len(self.breakpoints)
            self.breakpoints.clear()
            self._say(f"cleared {count} breakpoint{'s' if count != 1 else ''}")
            return False
        try:
            number = int(rest)
        except ValueError:
            raise DebuggerError(f"cl {rest}: give a breakpoint number (b lists them).") from None
        for bp in self.breakpoints:
            if bp.number == number:
                self.breakpoints.remove(bp)
                self._say(f"cleared breakpoint {number}")
                return False
        raise DebuggerError(f"no breakpoint {number}; b lists them.")

    def _cmd_print(self, rest: str) -> bool:
        assert self.stop is not None and self.graph is not None
        what, _, arg = rest.partition(" ")
        arg = arg.strip()
        node_id = self.stop.node_id
        data = self.graph.nodes[node_id]
        if what in ("grad_in", "grad_out"):
            if what == "grad_out" and data.get("label") == schema.ACCUMULATE_GRAD:
                leaves = views.leaves_below(self.graph, node_id)
                leaf = views.node_title(self.graph, leaves[0]) if leaves else "its leaf"
                self._say(
                    f"{views.node_title(self.graph, node_id)} sends no gradient on: it adds "
                    f"grad_in into .grad of {leaf}."
                )
                return False
            if what == "grad_out" and self.stop.phase == "before":
                self._say(
                    f"{views.node_title(self.graph, node_id)} has not run yet: s runs it and "
                    "shows what it produced."
                )
                return False
            summaries = data.get(what)
            arrays = self.values(node_id, what)
            count = len(summaries if summaries is not None else arrays or [])
            slots = range(count)
            if arg:
                try:
                    index = int(arg)
                except ValueError:
                    raise DebuggerError(f"p {what} {arg}: the slot must be a number.") from None
                if not 0 <= index < count:
                    raise DebuggerError(
                        f"p {what} {arg}: this node has {count} slot(s), 0 to {count - 1}."
                    )
                slots = range(index, index + 1)
            if count == 0:
                self._say(f"{what}: none")
            for i in slots:
                self._print_slot(f"{what}[{i}]", arrays, summaries, i)
            return False
        if what == "saved":
            self._print_saved(node_id, data, arg)
            return False
        raise DebuggerError(
            f"p {rest}: print what? Give grad_in [I], grad_out [I] or saved [NAME]."
        )

    def _print_slot(
        self, title: str, arrays: Sequence[Any] | None, summaries: Sequence[Any] | None, i: int
    ) -> None:
        width = self.console.width
        if arrays is not None:
            self._say(views.array_text(title, arrays[i], width=width))
            return
        summary = summaries[i] if summaries is not None else None
        if summary is None:
            self._say(f"{title}: None")
            return
        self._say(
            f"{title}: {views.fmt_shape(summary.get('shape'))} {summary.get('dtype')} "
            f"norm {views.fmt_number(summary.get('norm'))} min "
            f"{views.fmt_number(summary.get('min'))} max {views.fmt_number(summary.get('max'))} "
            f"mean {views.fmt_number(summary.get('mean'))} NaN {summary.get('nan')} "
            f"Inf {summary.get('inf')}"
        )
        self._say("  (the trace holds summaries only; record with values=True to print arrays)")

    def _print_saved(self, node_id: str, data: Mapping[str, Any], name: str) -> None:
        saved = list(data.get("saved") or [])
        if not saved:
            reason = " (freed by an earlier backward)" if data.get("saved_freed") else ""
            self._say(f"this node saved no tensors{reason}")
            return
        names = [str(item.get("name")) for item in saved]
        if not name:
            for item in saved:
                alias = item.get("alias_of")
                what = (
                    f"= {views.node_title(self.graph, alias)}"
                    if alias
                    else views.fmt_bytes(item.get("bytes"))
                )
                self._say(
                    f"{item.get('name')}: {views.fmt_shape(item.get('shape'))} "
                    f"{item.get('dtype')} {what}"
                )
            return
        if name not in names:
            raise DebuggerError(
                f"p saved {name}: this node saved {', '.join(names)}; no slot {name!r}."
            )
        arrays = self.values(node_id, "saved")
        if arrays is None or name not in arrays:
            item = saved[names.index(name)]
            self._say(
                f"saved {name}: {views.fmt_shape(item.get('shape'))} {item.get('dtype')} "
                "(its values were not recorded)"
            )
            return
        self._say(views.array_text(f"saved {name}", arrays[name], width=self.console.width))

    def _cmd_where(self, rest: str) -> bool:
        assert self.stop is not None and self.graph is not None
        lines = self.stack(self.stop.node_id)
        title = views.node_title(self.graph, self.stop.node_id)
        if not lines:
            self._say(
                f"no forward stack recorded for {title}. Run under anomaly mode "
                "(gradviz step --anomaly, or gradviz.autograd.set_detect_anomaly(True)), or "
                "start the session with Debugger(record_stacks=True) before the forward pass."
            )
            return False
        frames = _parse_stack(lines)
        if not frames:  # not traceback text (a trace written elsewhere): show it as it is
            self._say(f"{title} was made by:")
            for line in "".join(lines).rstrip("\n").splitlines():
                self._say(line)
            return False
        starts = [k for k, f in enumerate(frames) if f.filename == self.script]
        if starts:  # a stepped script: what ran it (the CLI, a caller of step()) is not its code
            frames = frames[starts[0] :]
        mine = [f for f in frames if f.filename == self.script or not _is_library(f.filename)]
        if mine:
            self._say(f"{title} was made by:")
        else:
            mine = frames
            self._say(f"{title} was made by library code only; its whole stack:")
        for k, frame in enumerate(mine):
            # pdb's `where`: "> file(line)function()" marks the innermost frame, "-> source".
            mark = ">" if k == len(mine) - 1 else " "
            self._say(f"{mark} {_display_path(frame.filename)}({frame.lineno}){frame.name}()")
            if frame.source:
                self._say(f"-> {frame.source}")
        return False

    def _cmd_list(self, rest: str) -> bool:
        assert self.stop is not None and self.graph is not None
        depth = 2
        if rest:
            try:
                depth = max(1, int(rest))
            except ValueError:
                raise DebuggerError(f"l {rest}: the depth must be a number.") from None
        self._say(views.neighbourhood_tree(self.graph, self.stop.node_id, depth=depth))
        return False

    def _cmd_graph(self, rest: str) -> bool:
        assert self.stop is not None and self.graph is not None
        path = Path(rest or self.graph_path)
        from gradviz.renderers import graphviz as gv_render  # noqa: PLC0415 - loads graphviz

        try:
            written = gv_render.render(self.graph, path, highlight=[self.stop.node_id])
        except (GradvizError, ValueError, OSError) as err:
            raise DebuggerError(f"g: could not render {path}: {_one_line(err)}") from err
        self._say(
            f"wrote {written} ({views.node_title(self.graph, self.stop.node_id)} highlighted)"
        )
        return False

    def _cmd_why(self, rest: str) -> bool:
        if not rest:
            raise DebuggerError("why needs a parameter name: why fc1.weight")
        for line in self.why(rest).splitlines():
            self._say(line)
        return False

    # ------------------------------------------------------------------ the end

    def finish(self, *, completed: bool, ran: int) -> None:
        """Report the end of a live backward and what the NaN tracker found."""
        if self.quitting:
            self._say("quit: the backward was stopped; every .grad is as it was before it")
        elif completed:
            self._say(f"backward finished: {ran} node{'s' if ran != 1 else ''} ran")
        else:
            self._say(f"backward stopped by an error after {ran} nodes")
        for line in self.tracker.report():
            self._say(line)


def _say(console: Any, item: Any = "") -> None:
    """Print a message line unwrapped (a long path stays whole), or a view wrapped."""
    console.print(item, soft_wrap=isinstance(item, str))


def _one_line(err: BaseException) -> str:
    return " ".join(part.strip() for part in str(err).splitlines() if part.strip())


# ---------------------------------------------------------------------------- live graphs


class _LiveGraph:
    """The trace graph of one live backward, and the engine objects behind its ids.

    Built by the tracer's own builder (``gradviz.trace.capture.build``), so the ids are
    those ``gradviz.trace.record`` gives the same backward.
    """

    def __init__(
        self, roots: Sequence[Tensor], params: Mapping[str, Tensor], iteration: int
    ) -> None:
        walk = build(
            roots_of(roots, "backward"),
            param_names(params or None),
            False,
            schema.producer("record", iteration),
        )
        self.graph = walk.graph
        self.ids: dict[Node, str] = dict(walk.ids)
        self.nodes: dict[str, Node] = {nid: node for node, nid in walk.ids.items()}
        self.leaves: dict[str, Tensor] = {}
        for node, nid in walk.ids.items():
            if isinstance(node, AccumulateGrad):
                for leaf in self.graph.predecessors(nid):
                    if self.graph.nodes[leaf].get("kind") == schema.LEAF:
                        self.leaves[leaf] = node.variable
        for _, data in self.graph.nodes(data=True):
            if data["kind"] == schema.OP:
                data.update(
                    order=None,
                    seconds=0.0,
                    grad_in=[None] * data["n_outputs"],
                    grad_out=[None] * data["n_inputs"],
                )
            elif data["kind"] == schema.LEAF:
                data["grad"] = None
        self.graph.graph["backward"] = {
            "order": [],
            "seconds": 0.0,
            "retain_graph": False,
            "create_graph": False,
            "completed": False,
        }


@dataclass
class _LiveBackward:
    """The state of one backward pass seen live."""

    live: _LiveGraph
    total: int
    roots: tuple[Tensor, ...] = ()
    ran: int = 0
    current: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- live debugger


class Debugger:
    """A live debugger: stops before backward nodes run and reads commands (pdb for backward).

    Use it as a context manager around the code that calls ``backward()``; the listener
    it puts on the engine's event bus is always removed on exit. ``q`` stops the
    backward (every ``.grad`` is restored by the engine) and ends the ``with`` block
    quietly, as pdb's quit ends the program.

    Args:
        commands: commands separated by ``;`` or newlines (``"s;n 3;p grad_out;c"``);
            default: read from ``stdin`` (a terminal, or a pipe).
        stdin: where to read commands when ``commands`` is None (default ``sys.stdin``).
        console: where to print (default: :func:`gradviz.renderers.console.make_console`).
        params: names for leaf tensors (``dict(model.named_parameters())``).
        namespace: where ``why NAME`` looks names up (a script's globals).
        record_stacks: remember the forward stack of every node made while the debugger
            is active, for ``w`` (anomaly mode records them too).
        graph_path: the default file of ``g``.

    Example:
        >>> import gradviz, io
        >>> from gradviz.renderers.console import make_console
        >>> x = gradviz.tensor([1.0, 2.0], requires_grad=True)
        >>> loss = (x * x).sum()
        >>> out = io.StringIO()
        >>> with Debugger(commands="q", console=make_console(out)):
        ...     loss.backward()
        >>> x.grad is None
        True
    """

    def __init__(
        self,
        *,
        commands: str | None = None,
        stdin: TextIO | None = None,
        console: Any = None,
        params: Mapping[str, Tensor] | None = None,
        namespace: Mapping[str, Any] | None = None,
        record_stacks: bool = False,
        graph_path: str = "gradviz-step.svg",
    ) -> None:
        self.console = console if console is not None else views.make_console()
        self.params = dict(params or {})
        self.namespace = namespace
        self.record_stacks = record_stacks
        self._stacks: weakref.WeakKeyDictionary[Node, list[str]] = weakref.WeakKeyDictionary()
        self._active: list[_LiveBackward] = []
        self._handle: events.Handle | None = None
        self._iteration = 0
        self._last: nx.DiGraph | None = None
        self.session = _Session(
            self.console,
            _make_input(commands, stdin, self.console),
            values=self._values,
            stack=self._stack,
            why=self._why,
            graph_path=graph_path,
        )

    def _say(self, item: Any = "") -> None:
        _say(self.console, item)

    @property
    def graph(self) -> nx.DiGraph | None:
        """The trace graph of the backward in progress, else of the last one (None before)."""
        return self._active[-1].live.graph if self._active else self._last

    def __enter__(self) -> Debugger:
        if self._handle is not None:
            raise RuntimeError("this Debugger is already active; use one `with` block at a time")
        self._handle = events.subscribe(self._listen)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.remove()
        self._active.clear()
        return isinstance(exc, BackwardAborted) and self.session.quitting

    # ------------------------------------------------------------------ events

    def _listen(self, event: Any) -> None:
        kind = type(event)
        if kind is events.NodeCreated:
            if self.record_stacks:
                self._stacks[event.node] = _forward_stack()
            return
        if kind is events.BackwardStarted:
            self._started(event)
        elif not self._active:
            return
        elif kind is events.NodeWillRun:
            self._will_run(event)
        elif kind is events.NodeExecuted:
            self._executed(event)
        elif kind is events.GradAccumulated:
            self._accumulated(event)
        elif kind is events.BackwardFinished:
            self._finished(event)

    def _leaf_names(self) -> dict[str, Tensor]:
        """``params``, plus the script's variables that hold unnamed leaves (``a``, ``w``)."""
        names = dict(self.params)
        if not self.namespace:
            return names
        known = {id(t) for t in names.values()}
        for key, value in list(self.namespace.items()):
            if (
                isinstance(value, Tensor)
                and not key.startswith("_")
                and value._grad_fn is None
                and value._requires_grad
                and not value.name
                and id(value) not in known
            ):
                names[key] = value
                known.add(id(value))
        return names

    def _started(self, event: events.BackwardStarted) -> None:
        live = _LiveGraph(event.roots, self._leaf_names(), self._iteration)
        self._iteration += 1
        bw = live.graph.graph["backward"]
        bw["retain_graph"] = bool(event.retain_graph)
        bw["create_graph"] = bool(event.create_graph)
        self._active.append(_LiveBackward(live, len(event.nodes), tuple(event.roots)))
        self.session.begin(live.graph)

    def _node_id(self, state: _LiveBackward, node: Node) -> str | None:
        return state.live.ids.get(node)

    def _will_run(self, event: events.NodeWillRun) -> None:
        state = self._active[-1]
        nid = self._node_id(state, event.node)
        if nid is None:
            return
        graph = state.live.graph
        data = graph.nodes[nid]
        data["grad_in"] = [summarize(g) if g is not None else None for g in event.grads_in]
        data["order"] = state.ran
        graph.graph["backward"]["order"].append(nid)
        state.ran += 1
        state.current = nid
        state.values = {"grad_in": event.grads_in, "node": event.node}
        self._guard(
            lambda: self.session.visit_before(nid, (event.index + 1, state.total), phase="before")
        )

    def _executed(self, event: events.NodeExecuted) -> None:
        state = self._active[-1]
        nid = self._node_id(state, event.node)
        if nid is None:
            return
        graph = state.live.graph
        data = graph.nodes[nid]
        data["grad_in"] = [summarize(g) if g is not None else None for g in event.grads_in]
        data["grad_out"] = [summarize(g) if g is not None else None for g in event.grads_out]
        data["seconds"] = float(event.seconds)
        state.values = {
            "grad_in": event.grads_in,
            "grad_out": event.grads_out,
            "node": event.node,
        }
        session = self.session
        stopped_here = (
            session.stop is not None
            and session.stop.node_id == nid
            and (session.stop.phase == "before")
        )
        if stopped_here and not session.detached and not session.quitting:
            self._print_produced(graph, nid)
        self._guard(lambda: session.visit_after(nid, (event.index + 1, state.total), live=True))

    def _print_produced(self, graph: nx.DiGraph, nid: str) -> None:
        data = graph.nodes[nid]
        title = views.node_title(graph, nid)
        if data.get("label") == schema.ACCUMULATE_GRAD:
            leaf = next(iter(views.leaves_below(graph, nid)), None)
            grad = graph.nodes[leaf].get("grad") if leaf else None
            if leaf is not None and grad is not None:
                self._say(
                    f"ran {title}: .grad of {views.node_title(graph, leaf)} is now {_brief(grad)}"
                )
            return
        inputs = dict(views.inputs_of(graph, nid))
        self._say(f"ran {title}:")
        for i, s in enumerate(data.get("grad_out") or []):
            target = inputs.get(i)
            where = views.node_title(graph, target) if target else "(no grad needed)"
            self._say(f"  grad_out[{i}] -> {where}: {_brief(s) if s else 'None'}")

    def _accumulated(self, event: events.GradAccumulated) -> None:
        state = self._active[-1]
        acc = self._node_id(state, event.node)
        if acc is None:
            return
        for leaf in views.leaves_below(state.live.graph, acc):
            grad = event.tensor._grad
            state.live.graph.nodes[leaf]["grad"] = summarize(grad) if grad is not None else None

    def _finished(self, event: events.BackwardFinished) -> None:
        state = self._active.pop()
        self._last = state.live.graph
        bw = state.live.graph.graph["backward"]
        bw["seconds"] = float(event.seconds)
        bw["completed"] = bool(event.completed)
        self.session.finish(completed=bool(event.completed), ran=state.ran)
        if self._active:
            self.session.begin(self._active[-1].live.graph)

    def _guard(self, visit: Callable[[], None]) -> None:
        try:
            visit()
        except _Quit:
            raise BackwardAborted("quit from the gradviz debugger") from None

    # ------------------------------------------------------------------ callbacks

    def _values(self, node_id: str, what: str) -> Any:
        if not self._active:
            return None
        state = self._active[-1]
        if state.current != node_id and what != "saved":
            return None
        if what in ("grad_in", "grad_out"):
            tensors = state.values.get(what)
            if tensors is None:
                return None
            return [host_copy(t) if t is not None else None for t in tensors]
        node = state.live.nodes.get(node_id)
        if node is None:
            return None
        try:
            items = node.saved_items()
        except RuntimeError:
            return None
        return {
            str(name): host_copy(value)
            for name, value in items
            if value is not None and hasattr(getattr(value, "_data", value), "shape")
        }

    def _stack(self, node_id: str) -> list[str] | None:
        if not self._active:
            return None
        node = self._active[-1].live.nodes.get(node_id)
        if node is None:
            return None
        stack = node._metadata.get("traceback_") if node._metadata else None
        return stack or self._stacks.get(node)

    def _why(self, name: str) -> str:
        if not self._active:
            return "no backward in progress"
        state = self._active[-1]
        tensor = self._lookup(name, state)
        if tensor is None:
            return (
                f"no tensor named {name!r}: give a leaf of the graph, a parameter's dotted name "
                "(fc1.weight) or a variable of the script."
            )
        if not state.roots:
            return "this backward has no root tensor to examine"
        verdict = why_no_grad(state.roots[0], tensor, name=name)
        if verdict.cause != "reachable" or tensor._grad_fn is not None:
            return str(verdict)
        route = " -> ".join(verdict.path)
        done = any(
            state.live.leaves.get(lid) is tensor and state.live.graph.nodes[lid].get("grad")
            for lid in state.live.leaves
        )
        when = "it has received it" if done else "it has not reached it yet"
        return (
            f"{name} is on a path to the loss ({route}), so this backward gives it a "
            f"gradient; {when}."
        )

    def _lookup(self, name: str, state: _LiveBackward) -> Tensor | None:
        graph = state.live.graph
        for lid, tensor in state.live.leaves.items():
            data = graph.nodes[lid]
            if name in (data.get("param"), data.get("label")):
                return tensor
        if name in self.params:
            return self.params[name]
        ns = self.namespace or {}
        head, _, tail = name.partition(".")
        obj = ns.get(head)
        if obj is not None and tail:
            current = obj
            for part in tail.split("."):
                current = getattr(current, part, None)
                if current is None:
                    break
            if isinstance(current, Tensor):
                return current
        if isinstance(obj, Tensor) and not tail:
            return obj
        for value in ns.values():
            named = getattr(value, "named_parameters", None)
            if callable(named) and not isinstance(value, type):
                try:
                    for pname, p in named():
                        if pname == name:
                            return p  # type: ignore[no-any-return]
                except TypeError:
                    continue
        return None


def _brief(s: Mapping[str, Any]) -> str:
    text = (
        f"{views.fmt_shape(s.get('shape'))} {s.get('dtype')} norm {views.fmt_number(s.get('norm'))}"
    )
    low, high = s.get("min"), s.get("max")
    if low is not None and high is not None and low == low and high == high:  # not NaN
        text += f" min {views.fmt_number(low)} max {views.fmt_number(high)}"
    elif s.get("nan") or s.get("inf"):
        text += " (no finite element)"
    if s.get("nan") or s.get("inf"):
        text += f" NaN {s.get('nan')} Inf {s.get('inf')}"
    return text


def _forward_stack() -> list[str]:
    """Return the current stack, the user's frames only, as ``traceback.format_list`` text."""
    frames = traceback.extract_stack()
    return traceback.format_list([f for f in frames if not _is_library(f.filename)])


# ---------------------------------------------------------------------------- forward stacks
#
# Anomaly mode keeps a node's forward stack as PyTorch does, ``traceback.format_list`` text
# (``grad_fn.metadata["traceback_"]``); ``w`` reads the frames back from that text, keeps
# the user's own (not the Python library's, installed packages' such as click's, nor
# gradviz's own CLI and debugger frames) and prints them as pdb's ``where`` does.

_FRAME_HEADER = re.compile(r'^ *File "(?P<file>.*)", line (?P<line>\d+), in (?P<name>.*)$')
_CARETS = frozenset("^~ ")


@dataclass(frozen=True)
class _Frame:
    """One frame of a recorded forward stack."""

    filename: str
    lineno: int
    name: str
    source: str = ""


def _parse_stack(lines: Sequence[str]) -> list[_Frame]:
    """Read frames back from ``traceback.format_list`` text; empty when it is none.

    A frame's source line is the first indented line after its header; the ``^~~~``
    position markers of Python 3.11+ are skipped.
    """
    frames: list[_Frame] = []
    for text in "".join(lines).splitlines():
        match = _FRAME_HEADER.match(text)
        if match:
            frames.append(_Frame(match["file"], int(match["line"]), match["name"]))
            continue
        code = text.strip()
        if frames and not frames[-1].source and code and not set(code) <= _CARETS:
            frames[-1] = replace(frames[-1], source=code)
    return frames


@functools.lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    """Where the Python library, installed packages and gradviz itself live (real paths)."""
    paths = sysconfig.get_paths()
    roots = [paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    roots.extend(getattr(site, "getsitepackages", list)())
    if site.ENABLE_USER_SITE:
        roots.append(site.getusersitepackages())
    roots.append(str(Path(__file__).resolve().parent.parent))  # the gradviz package
    return tuple(sorted({os.path.realpath(root) for root in roots if root}))


@functools.lru_cache(maxsize=4096)
def _is_library(filename: str) -> bool:
    """Return True for a frame of the Python library, an installed package, or gradviz.

    ``<frozen runpy>`` and the like are the library's; other ``<...>`` names (``<stdin>``,
    ``<string>``) and relative paths are the user's code.
    """
    if filename.startswith("<"):
        return filename.startswith("<frozen ")
    if not os.path.isabs(filename):
        return False
    real = os.path.realpath(filename)
    if {"site-packages", "dist-packages"} & set(Path(real).parts):
        return True
    return any(real == root or real.startswith(root + os.sep) for root in _library_roots())


def _display_path(filename: str) -> str:
    """Return ``filename`` relative to the current directory when it lies below it."""
    if filename.startswith("<") or not os.path.isabs(filename):
        return filename
    try:
        cwd = os.getcwd()
        relative = os.path.relpath(filename, cwd)
    except (OSError, ValueError):  # no current directory; another drive (Windows)
        return filename
    if os.path.dirname(cwd) == cwd:  # the root directory: "/tmp/x.py" reads better
        return filename
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return filename
    return relative


# ---------------------------------------------------------------------------- entry points


def step(
    script: str | os.PathLike[str],
    args: Sequence[str] = (),
    *,
    commands: str | None = None,
    stdin: TextIO | None = None,
    console: Any = None,
    anomaly: bool = False,
) -> int:
    """Run a Python script as ``__main__`` under the live debugger.

    The session stops before the first backward node; ``why NAME`` finds names among the
    script's globals. With ``anomaly=True`` the script runs in anomaly mode (without its
    NaN check, which would end the backward before the debugger sees it), so ``w`` shows
    where each node was made.

    Args:
        script: the script's path.
        args: its command-line arguments (``sys.argv[1:]``).
        commands: scripted commands (see :class:`Debugger`).
        stdin: where to read commands otherwise.
        console: where to print.
        anomaly: run in anomaly mode.

    Returns:
        The number of times the session stopped.

    Raises:
        DebuggerError: the script does not exist or is not readable.
        BaseException: whatever the script raised (a quit is not re-raised).
    """
    path = Path(script)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DebuggerError(f"cannot read the script {path}: {err}") from err
    code = compile(source, str(path), "exec")
    module = types.ModuleType("__main__")
    module.__dict__.update({"__file__": str(path), "__builtins__": builtins})
    saved_main = sys.modules.get("__main__")
    saved_argv = sys.argv
    saved_path = list(sys.path)
    sys.argv = [str(path), *args]
    sys.path.insert(0, str(path.resolve().parent))
    sys.modules["__main__"] = module
    debugger = Debugger(
        commands=commands,
        stdin=stdin,
        console=console,
        namespace=module.__dict__,
        record_stacks=anomaly,
    )
    debugger.session.script = str(path)
    from gradviz.autograd.anomaly import set_detect_anomaly  # noqa: PLC0415

    try:
        with set_detect_anomaly(True, check_nan=False) if anomaly else nullcontext():
            with debugger:
                exec(code, module.__dict__)  # running the user's script is the point
    except SystemExit as stop:
        if stop.code not in (None, 0):
            raise
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
    return debugger.session.stops


def replay(
    source: Any,
    iteration: int | None = None,
    *,
    commands: str | None = None,
    stdin: TextIO | None = None,
    console: Any = None,
    graph_path: str = "gradviz-step.svg",
) -> int:
    """Step through a recorded backward pass: a graph, a list of graphs, or a trace file.

    Args:
        source: a trace schema graph with a recorded backward, a list of them, or the
            path of a trace file (``train.gvz``; ``train.gvz:3`` picks iteration 3).
        iteration: which graph of a list or file (default: the last one).
        commands: scripted commands (see :class:`Debugger`).
        stdin: where to read commands otherwise.
        console: where to print.
        graph_path: the default file of ``g``.

    Returns:
        The number of times the session stopped.

    Raises:
        DebuggerError: the graph has no recorded backward, or the iteration is missing.
        TraceFileError: the trace file is damaged (from ``gradviz.trace.load``).
    """
    graph = _pick_graph(source, iteration)
    console = console if console is not None else views.make_console()
    order = list(graph.graph["backward"].get("order") or [])

    def values(node_id: str, what: str) -> Any:
        data = graph.nodes[node_id]
        if what == "saved":
            return None
        return data.get(f"{what}_values")

    def stack(node_id: str) -> list[str] | None:
        found = graph.nodes[node_id].get("traceback")
        return list(found) if found else None

    def why(name: str) -> str:
        return _why_recorded(graph, name)

    session = _Session(
        console,
        _make_input(commands, stdin, console),
        values=values,
        stack=stack,
        why=why,
        graph_path=graph_path,
    )
    session.begin(graph)
    total = len(order)
    try:
        for k, node_id in enumerate(order):
            session.visit_before(node_id, (k + 1, total), phase="replay")
    except _Quit:
        _say(console, "quit")
        return session.stops
    completed = bool(graph.graph["backward"].get("completed", True))
    if completed:
        _say(console, f"end of the recorded backward ({total} nodes)")
    else:
        _say(console, f"end of the recorded backward ({total} nodes; it stopped early)")
    for line in session.tracker.report():
        _say(console, line)
    return session.stops


def _pick_graph(source: Any, iteration: int | None) -> nx.DiGraph:
    graphs: list[nx.DiGraph]
    if isinstance(source, nx.DiGraph):
        graphs = [source]
    elif isinstance(source, (list, tuple)):
        graphs = list(source)
    else:
        text = os.fspath(source)
        path = Path(text)
        if not path.exists() and ":" in text:
            head, _, tail = text.rpartition(":")
            if tail.lstrip("-").isdigit() and Path(head).exists():
                path = Path(head)
                if iteration is None:
                    iteration = int(tail)
        from gradviz.trace import load  # noqa: PLC0415

        loaded = load(path)
        graphs = [loaded] if isinstance(loaded, nx.DiGraph) else list(loaded)
    if not graphs:
        raise DebuggerError("there is no graph to replay: the trace holds none.")
    if iteration is None:
        graph = graphs[-1]
    else:
        numbers = [(g.graph.get("producer") or {}).get("iteration") for g in graphs]
        if iteration in numbers:
            graph = graphs[numbers.index(iteration)]
        elif all(n is None for n in numbers) and 0 <= iteration < len(graphs):
            graph = graphs[iteration]
        else:
            known = [n for n in numbers if n is not None] or list(range(len(graphs)))
            raise DebuggerError(
                f"there is no iteration {iteration} in the trace; it holds "
                f"{', '.join(str(n) for n in known)}."
            )
    if not graph.graph.get("backward"):
        raise DebuggerError(
            "this graph has no recorded backward pass, so there is nothing to step through. "
            "Fix: record one with gradviz.trace.record() (gradviz run script.py -o t.gvz), "
            "or step live: gradviz step script.py."
        )
    return graph


def _why_recorded(graph: nx.DiGraph, name: str) -> str:
    for nid in views.node_order(graph):
        data = graph.nodes[nid]
        if data.get("kind") != schema.LEAF or name not in (data.get("param"), data.get("label")):
            continue
        grad = data.get("grad")
        if grad is not None:
            return f"{name} got a gradient in this backward: {_brief(grad)}"
        return (
            f"{name} is a leaf of this graph, so it is on a path to the loss, but no gradient "
            "reached it in this backward (its branch carried none, or backward(inputs=...) "
            "left it out)."
        )
    return (
        f"{name} is not a leaf of this graph: it is not on any path to the loss. The trace "
        "cannot say why (requires_grad=False, cut by detach() or no_grad(), an integer cast, "
        "or simply unused); step the script live to find out: gradviz step script.py, then "
        f"why {name}."
    )
