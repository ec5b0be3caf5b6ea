"""`--help` documents every option of the inference commands, with its default where it has one, and
lists the product's commands only."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from storysplit import cli, segment_cli, server

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("parser", [segment_cli._parser(), server._parser()], ids=["segment", "serve"])
def test_every_option_says_what_it_does_and_its_default(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = action.option_strings[0] if action.option_strings else action.dest
        assert action.help and len(action.help) > 15, name
        if action.default not in (None, False) and action.option_strings:
            assert "default" in action.help, name


@pytest.mark.parametrize("value", ["abc", "1", "0", "-0.5", "1.5", "nan", "inf"])
def test_a_refused_threshold_says_what_is_expected(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        segment_cli._parser().parse_args(["page.txt", "--threshold", value])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error == (
        "storysplit segment: error: argument --threshold: "
        f"expected a number greater than 0 and less than 1, got {value!r}"
    )


@pytest.mark.parametrize("value", ["two", "0", "1.5"])
def test_a_refused_count_says_what_is_expected(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        segment_cli._parser().parse_args(["page.txt", "--workers", value])
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.endswith(f"argument --workers: expected a whole number of at least 1, got {value!r}")


def test_a_threshold_inside_the_range_is_a_float() -> None:
    assert segment_cli._parser().parse_args(["page.txt", "--threshold", "0.25"]).threshold == 0.25


def test_developer_tools_are_storysplit_devs_commands_not_storysplits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Developers' tools are `storysplit-dev`'s commands (the second script), not `storysplit`'s."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"storysplit": "storysplit.cli:main", "storysplit-dev": "storysplit.cli:dev_main"}
    assert cli.main(["--help"]) == 0
    listed = _listed_commands(capsys.readouterr().out)
    assert "bench" not in listed and "loso" not in listed and "segment" in listed
    assert cli.dev_main(["--help"]) == 0
    listed = _listed_commands(capsys.readouterr().out)
    assert listed == ["bench", "bench-sites", "loso", "loso-compare", "loso-sites"]
    assert cli.main(["bench"]) == 2
    assert "unknown command 'bench'" in capsys.readouterr().err


def _listed_commands(usage: str) -> list[str]:
    commands = usage.partition("\ncommands:\n")[2]
    return [line.split()[0] for line in commands.splitlines() if line.startswith("  ")]
