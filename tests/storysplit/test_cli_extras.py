"""A command whose optional dependencies are not installed says which extra to install, in one line.

Each case makes one third-party import fail in-process (`sys.modules[name] = None`, as if the
package were not installed) and forgets the storysplit modules that import it at module level, so
that the command imports them again; the others fail while the command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import storysplit
from storysplit.cli import COMMANDS, DEV_COMMANDS, dev_main
from storysplit.cli import main as cli_main
from tests.conftest import SEEDS_DIR
from tests.evaluation.fakes import FakeModel

REPO = Path(__file__).resolve().parents[2]

# command line, the package made missing, the storysplit modules that import it at module level
CASES = {
    "serve": (["serve", "--model", "no-such-model"], "uvicorn", []),
    "corpus": (["corpus"], "datasets", ["storysplit.train.corpus.build"]),
    "train": (["train"], "datasets", ["storysplit.train.run"]),
    "evaluate": (
        ["evaluate", "m", "--data", "seeds", "--seeds-dir", str(SEEDS_DIR), "--no-html"],
        "justext",
        [],
    ),
    "distill": (["distill"], "sentence_transformers", []),
    "export-onnx": (["export-onnx"], "torch", ["storysplit.train.export_onnx"]),
    "clean": (["clean", "in", "out"], "threadpoolctl", ["storysplit.jobs.clean", "storysplit.jobs.local"]),
    "clean-ray": (["clean", "--engine=ray", "in", "out"], "ray", ["storysplit.jobs.ray_clean"]),
}
# `storysplit-dev`'s commands, the same way
DEV_CASES = {
    "loso": (["loso"], "datasets", ["storysplit.train.loso"]),
    "bench": (["bench", "--data", "corpus:validation"], "datasets", []),
}
EXTRAS = {"serve": "serve", "export-onnx": "onnx", "clean": "clean", "clean-ray": "ray"}


def _uninstall(monkeypatch: pytest.MonkeyPatch, package: str, forget: list[str]) -> None:
    """Make `import package` (and of its submodules) fail; `forget` runs its imports again."""
    for name in [name for name in sys.modules if name == package or name.startswith(f"{package}.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, package, None)
    for name in forget:
        monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.mark.parametrize(
    ("program", "case"),
    [("storysplit", case) for case in CASES] + [("storysplit-dev", case) for case in DEV_CASES],
)
def test_a_missing_extra_is_one_line_naming_it(
    program: str,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv, package, forget = (CASES if program == "storysplit" else DEV_CASES)[case]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").write_text("A page.\n", encoding="utf-8")
    (tmp_path / "corpus").mkdir()  # bench's data
    monkeypatch.setattr(storysplit, "load_model", lambda path: FakeModel())  # evaluate's model
    _uninstall(monkeypatch, package, forget)
    assert (cli_main if program == "storysplit" else dev_main)(argv) == 2
    extra = EXTRAS.get(case, "train")
    assert capsys.readouterr().err == (
        f"{program} {argv[0]}: error: this command needs the {extra} extra: "
        f"pip install 'storysplit[{extra}]' (missing module: {package})\n"
    )


def test_a_missing_module_of_storysplit_itself_still_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module of the package missing is a broken install or a bug, not an extra to install."""
    _uninstall(monkeypatch, "storysplit.train.corpus.build", ["storysplit.train.run"])
    with pytest.raises(ModuleNotFoundError, match=r"storysplit\.train\.corpus\.build"):
        cli_main(["train"])


def test_a_missing_core_dependency_still_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """`segment` needs no extra: what it lacks is a core dependency, which no extra would bring."""
    _uninstall(monkeypatch, "numpy", ["storysplit.segment_cli", "storysplit.model"])
    with pytest.raises(ModuleNotFoundError, match="numpy"):
        cli_main(["segment", "page.txt"])


def test_every_extra_a_command_names_is_one_of_pyproject() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    commands = [*COMMANDS.values(), *DEV_COMMANDS.values()]
    named = {command.extra for command in commands} | set(EXTRAS.values())
    assert named - {None} <= set(extras)
    assert {name for name, command in COMMANDS.items() if command.extra is None} == {"segment"}
