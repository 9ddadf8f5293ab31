"""The streamlab command line: one subcommand per listed module, and none hidden."""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path

import pytest

from streamlab import cli


def test_serve_options_and_defaults() -> None:
    args = cli.build_parser().parse_args(["serve"])
    assert (args.template, args.host, args.port) == ("template.yaml", "127.0.0.1", 3000)
    assert (args.max_concurrency, args.no_auth, args.parameter_overrides) == (10, False, None)
    args = cli.build_parser().parse_args(
        ["serve", "--port", "0", "--no-auth", "--parameter-overrides", "A=1", "B=2"]
    )
    assert args.port == 0 and args.no_auth and args.parameter_overrides == ["A=1", "B=2"]
    assert callable(args.func)


def test_adding_a_command_is_one_module(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("streamlab_fake_command")

    def add_parser(subparsers: argparse._SubParsersAction) -> None:
        parser = subparsers.add_parser("hello")
        parser.set_defaults(func=lambda args: 7)

    module.add_parser = add_parser  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "streamlab_fake_command", module)
    monkeypatch.setattr(cli, "COMMANDS", ("streamlab_fake_command", *cli.COMMANDS))
    assert cli.main(["hello"]) == 7


def test_a_missing_command_module_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMANDS", ("streamlab.not_written_yet", *cli.COMMANDS))
    with pytest.raises(ModuleNotFoundError, match=r"streamlab\.not_written_yet"):
        cli.build_parser()


def test_a_broken_command_module_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A command whose own imports fail says which import, not that the command is missing."""
    (tmp_path / "streamlab_broken_command.py").write_text("import no_such_dependency_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "COMMANDS", ("streamlab_broken_command",))
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_here"):
        cli.build_parser()
