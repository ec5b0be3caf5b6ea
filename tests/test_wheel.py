"""The built wheel, installed in a fresh virtual environment, works from any folder with no path.

`python -m build` makes the sdist and, from it, the wheel (as a release does); the wheel goes into
a new venv with its dependencies from the package index; the installed `storysplit` then runs in
an empty temporary folder, with no checkout on the path and no model named.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from storysplit import load_model

REPO = Path(__file__).resolve().parent.parent
SHIPPED = (
    "models/default/manifest.json",
    "models/default/labeller.npz",
    "models/encoders/e5-static/model.safetensors",
)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

pytestmark = pytest.mark.slow


BUILD_LOG = "build.log"


def _run(command: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=ENV, input=stdin, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the sdist, the wheel built from it and what the build printed."""
    dist = tmp_path_factory.mktemp("dist")
    result = _run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)], cwd=dist)
    (dist / BUILD_LOG).write_text(result.stdout + result.stderr, encoding="utf-8")
    return dist


@pytest.fixture(scope="module")
def installed(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin/` of a fresh venv holding only the wheel and its dependencies."""
    target = tmp_path_factory.mktemp("venv")
    venv.create(target, with_pip=True)
    bin_dir = target / "bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(_one(built, "*.whl"))], cwd=target)
    return bin_dir


@pytest.fixture()
def elsewhere(tmp_path: Path, seed_page: Path) -> Path:
    """An empty working folder with one page in it."""
    (tmp_path / "page.txt").write_bytes(seed_page.read_bytes())
    return tmp_path


def _one(folder: Path, pattern: str) -> Path:
    [path] = folder.glob(pattern)
    return path


def test_the_build_warns_about_no_package_data(built: Path) -> None:
    """The model folders are package data, not packages setuptools would ignore."""
    log = (built / BUILD_LOG).read_text(encoding="utf-8")
    assert "Package would be ignored" not in log and "absent from the `packages`" not in log


def test_the_wheel_holds_only_storysplit_with_the_default_model_and_its_encoder(built: Path) -> None:
    with zipfile.ZipFile(_one(built, "*.whl")) as wheel:
        names = wheel.namelist()
    top_level = {name.split("/")[0] for name in names} - {"storysplit"}
    assert len(top_level) == 1 and top_level.pop().endswith(".dist-info")
    assert {f"storysplit/{path}" for path in SHIPPED} <= set(names)
    assert {
        "storysplit/features/encoders.py",
        "storysplit/train/run.py",
        "storysplit/train/corpus/build.py",
    } <= set(names)
    assert not [name for name in names if "minilm-static" in name]  # only the default's encoder
    archive = _one(built, "*.tar.gz")
    with tarfile.open(archive) as sdist:
        root = archive.name.removesuffix(".tar.gz")
        assert {f"{root}/{path}" for path in SHIPPED} <= set(sdist.getnames())  # the checkout's layout


def test_storysplit_segment_prints_the_story(installed: Path, elsewhere: Path) -> None:
    printed = _run([str(installed / "storysplit"), "segment", "page.txt"], cwd=elsewhere).stdout
    assert printed == load_model().extract((elsewhere / "page.txt").read_text(encoding="utf-8")) + "\n"


def test_jsonl_on_stdin_gives_one_record_per_line(installed: Path, elsewhere: Path) -> None:
    texts = [
        (elsewhere / "page.txt").read_text(encoding="utf-8"),
        "Home | Sport\nA short story about the weather today.",
    ]
    lines = "".join(json.dumps({"id": str(i), "text": text}) + "\n" for i, text in enumerate(texts))
    command = [str(installed / "storysplit"), "segment", "--input-format", "jsonl", "-"]
    records = [json.loads(line) for line in _run(command, elsewhere, lines).stdout.splitlines()]
    assert [r["id"] for r in records] == ["0", "1"]
    assert [r["main_text"] for r in records] == load_model().extract_many(texts)


def test_load_model_with_no_argument_loads_the_shipped_model(installed: Path, elsewhere: Path) -> None:
    code = (
        "import sys, storysplit\nfrom storysplit import load_model\n"
        "print(storysplit.__file__)\nprint(load_model().extract(open('page.txt').read()), end='')"
    )
    package, extracted = _run([str(installed / "python"), "-c", code], cwd=elsewhere).stdout.split("\n", 1)
    assert Path(package).is_relative_to(installed.parent)  # the installed copy, not this checkout
    assert extracted == load_model().extract((elsewhere / "page.txt").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        (["train"], "train"),
        (["corpus"], "train"),
        (["distill"], "train"),
        (["serve"], "serve"),
        (["export-onnx"], "onnx"),
        (["clean", "page.txt", "out"], "clean"),
    ],
)
def test_a_command_whose_extra_is_not_installed_names_it_in_one_line(
    installed: Path, elsewhere: Path, command: list[str], extra: str
) -> None:
    """The wheel alone installs the core dependencies: the other commands say what to install."""
    result = subprocess.run(
        [str(installed / "storysplit"), *command],
        cwd=elsewhere,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"storysplit {command[0]}: error: this command needs the {extra} extra: "
        f"pip install 'storysplit[{extra}]' (missing module: "
    )
