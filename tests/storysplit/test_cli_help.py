"""`--help` documents every option of the inference commands, with its default where it has one."""

from __future__ import annotations

import argparse

import pytest

from storysplit import segment_cli, server


@pytest.mark.parametrize("parser", [segment_cli._parser(), server._parser()], ids=["segment", "serve"])
def test_every_option_says_what_it_does_and_its_default(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = action.option_strings[0] if action.option_strings else action.dest
        assert action.help and len(action.help) > 15, name
        if action.default not in (None, False) and action.option_strings:
            assert "default" in action.help, name
