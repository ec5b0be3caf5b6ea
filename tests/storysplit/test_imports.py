"""The default model's inference path stays light: no torch, sentence-transformers or scikit-learn.

Those imports cost seconds per process before the first page (docs/speed.md, Start-up); each
check runs in a fresh interpreter, since this test session has imported all of them already.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from storysplit.features.user_cache import CACHE_ENV
from tests.fresh_interpreter import printed_last
from tools.package_tree import package_folders

REPO = Path(__file__).resolve().parents[2]
HEAVY = (
    "torch",
    "sentence_transformers",
    "transformers",
    "sklearn",
    "mlflow",
    "datasets",
    "onnxruntime",
)

# The page to segment is the script's argument.
SEGMENT_ONE_PAGE = """
import contextlib, io, json, sys
from storysplit.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["segment", sys.argv[1]])
assert code == 0 and len(out.getvalue()) > 100, (code, out.getvalue()[:200])
print(json.dumps(sorted(sys.modules)))
"""

LOAD_AND_SERVE = """
import json, sys
from storysplit import load_model
import storysplit.server
model = load_model("models/default")
assert model.extract("Headline\\nA story paragraph that reads like prose, long enough to keep.")
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(code: str, *args: Path) -> set[str]:
    return set(printed_last(code, *args))


def _assert_light(modules: set[str]) -> None:
    assert "storysplit.sequence_head" in modules and "storysplit.features.static_encoder" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith("storysplit.train"))
    assert heavy == []


def test_storysplit_segment_imports_no_heavy_library(seed_page: Path) -> None:
    modules = _modules_after(SEGMENT_ONE_PAGE, seed_page)
    _assert_light(modules)
    # What one page does not need costs its start-up (docs/speed.md): pydantic was a fifth of it (the
    # manifest's sections are checked by `storysplit.sections`; only training reads YAML), and the
    # worker pool and `numpy.ma` (which `np.unique` imports) a few hundredths of a second.
    unneeded = ("pydantic", "pydantic_core", "yaml", "multiprocessing", "concurrent")
    assert sorted(m for m in modules if m.split(".")[0] in unneeded or m == "numpy.ma") == []


def test_load_model_and_the_server_import_no_heavy_library() -> None:
    _assert_light(_modules_after(LOAD_AND_SERVE))


@pytest.mark.slow
def test_the_check_sees_a_heavy_import() -> None:
    """The subprocess check is not vacuous: the training labeller does pull torch and scikit-learn in."""
    modules = _modules_after(
        "import json, sys\nimport storysplit.train.sequence\nprint(json.dumps(sorted(sys.modules)))"
    )
    assert {"torch", "sklearn"} <= {m.split(".")[0] for m in modules}


# Every module of the package, loaded in one interpreter: their names, and the files each came from.
IMPORT_EVERYTHING = """
import json, pkgutil, sys
import storysplit
for name in ["storysplit", *(f"storysplit.{sub}" for sub in ("evaluation", "features", "jobs", "train"))]:
    package = __import__(name, fromlist=["_"])
    for module in pkgutil.walk_packages(package.__path__, f"{name}."):
        if not module.name.endswith("__main__"):
            __import__(module.name)
print(json.dumps({n: getattr(m, "__file__", None) for n, m in sys.modules.items()}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("where", ["checkout", "elsewhere"])
def test_every_module_has_one_import_name_from_the_checkout_or_elsewhere(where: str, tmp_path: Path) -> None:
    """The code folders are storysplit's subpackages (pyproject's package-dir), not packages of their
    own: run from the checkout's root, where train/ is a folder of the working directory, no module
    loads twice under two names; `python -m storysplit --help` works there and from any folder."""
    cwd = REPO if where == "checkout" else tmp_path
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [sys.executable, "-m", "storysplit", "--help"]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "segment" in result.stdout, result.stderr[-2000:]
    files = printed_last(IMPORT_EVERYTHING, env=env, cwd=cwd, timeout=600)
    folders = package_folders().values()
    ours = {n: f for n, f in files.items() if f and any(Path(f).is_relative_to(d) for d in folders)}
    assert {
        "storysplit.train.corpus.build",
        "storysplit.features.encoders",
        "storysplit.jobs.clean",
    } <= ours.keys()
    assert [name for name in ours if name.partition(".")[0] != "storysplit"] == []
    assert len(set(ours.values())) == len(ours)  # no file loaded as two modules


# Run before anything else: records, for each top-level module imported from then on, the module
# whose code imported it (the first frame outside importlib and the standard library);
# `third_party()` is what was recorded, without the standard library's modules.
RECORD_IMPORTERS = """
import importlib.abc, sys, sysconfig

imported_by = {}

def _importer():
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.partition(".")[0] not in sys.stdlib_module_names:
            return name.partition(".")[0]
        frame = frame.f_back
    return None

class _Recorder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if "." not in name and name not in sys.modules and name not in imported_by:
            imported_by[name] = _importer()
        return None

sys.meta_path.insert(0, _Recorder())

_STDLIB = tuple({sysconfig.get_paths()[kind] for kind in ("stdlib", "platstdlib")})

def third_party():
    def standard(name):
        path = getattr(sys.modules[name], "__file__", None) or ""
        return name in sys.stdlib_module_names or path.startswith(_STDLIB) and "-packages" not in path
    return {m: i for m, i in imported_by.items() if m in sys.modules and not standard(m)}
"""
SEGMENT_RECORDING_IMPORTERS = RECORD_IMPORTERS + SEGMENT_ONE_PAGE.replace(
    "print(json.dumps(sorted(sys.modules)))",
    "print(json.dumps(third_party()))",
)
OURS = {"storysplit", "__main__"}


def _closure(names: list[str]) -> set[str]:
    """The distributions `names` install, without extras: what `pip install storysplit` brings."""
    seen: set[str] = set()
    todo = [_normal(name) for name in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        for line in needs:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(_normal(requirement.name))
    return seen


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def undeclared_imports(
    imported_by: dict[str, str | None],
    declared: list[str],
    owners: Mapping[str, list[str]],
    closure: Callable[[list[str]], set[str]] = _closure,
) -> dict[str, str | None]:
    """The modules of `imported_by` (third-party module -> the module that imported it) that no
    distribution provides which is either `declared` or, for a module a third-party one imported,
    installed with that one's distribution. `owners`: `packages_distributions()`.

    Our code may import only what storysplit declares; a library, what it brings itself: protobuf,
    which sentencepiece's generated module imports but sentencepiece does not require, must be
    declared, even when another dependency happens to install it.
    """
    missing: dict[str, str | None] = {}
    for module, importer in imported_by.items():
        if module in OURS:
            continue
        brought = closure(owners.get(importer, [])) if importer and importer not in OURS else set()
        allowed = {_normal(name) for name in declared} | brought
        if not {_normal(owner) for owner in owners.get(module, [])} & allowed:
            missing[module] = importer
    return missing


def test_inference_imports_only_what_the_plain_install_brings(seed_page: Path) -> None:
    """Every third-party module `storysplit segment` imports, building the sentencepiece processor
    too (an empty cache folder), is a core dependency's or brought by the library that imports it."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(line).name for line in project["dependencies"]]
    assert not {"torch", "sentence-transformers", "scikit-learn"} & _closure(declared)
    with tempfile.TemporaryDirectory() as cache:
        imported_by = printed_last(
            SEGMENT_RECORDING_IMPORTERS, seed_page, env={**os.environ, CACHE_ENV: cache}
        )
    assert {"numpy", "tokenizers", "sentencepiece", "google"} <= set(imported_by)  # the check sees them
    assert undeclared_imports(imported_by, declared, packages_distributions()) == {}


def test_the_import_check_finds_what_the_wheel_does_not_declare() -> None:
    owners = {
        "numpy": ["numpy"],
        "yaml": ["PyYAML"],
        "pydantic": ["pydantic"],
        "pydantic_core": ["pydantic_core"],
        "sentencepiece": ["sentencepiece"],
        "google": ["google-auth", "protobuf"],
    }
    requirements = {"pydantic": {"pydantic-core"}}

    def closure(names: list[str]) -> set[str]:
        return {found for name in names for found in {_normal(name), *requirements.get(name, set())}}

    def check(imported_by: dict[str, str | None], declared: list[str]) -> dict[str, str | None]:
        return undeclared_imports(imported_by, declared, owners, closure)

    imported = {
        "numpy": "storysplit",
        "pydantic": "storysplit",
        "pydantic_core": "pydantic",
    }
    assert check(imported, ["numpy", "pydantic"]) == {}
    assert check({**imported, "yaml": "storysplit"}, ["numpy", "pydantic"]) == {"yaml": "storysplit"}
    assert check({**imported, "pydantic_core": "storysplit"}, ["numpy", "pydantic"]) == {
        "pydantic_core": "storysplit"  # ours imports it, and does not declare it
    }
    protobuf = {"sentencepiece": "storysplit", "google": "sentencepiece"}
    assert check(protobuf, ["sentencepiece"]) == {"google": "sentencepiece"}
    assert check(protobuf, ["sentencepiece", "protobuf"]) == {}
    assert check({"nowhere": "storysplit"}, []) == {"nowhere": "storysplit"}  # no distribution at all


SEGMENT_THREADS = """
import contextlib, io, json, os, sys
import storysplit.cli
assert "numpy" not in sys.modules  # so the variables below still reach numpy's BLAS
with contextlib.redirect_stdout(io.StringIO()):
    storysplit.cli.main(["segment", sys.argv[1]])
print(json.dumps({name: os.environ.get(name) for name in storysplit.cli.THREAD_VARIABLES}))
"""


@pytest.mark.parametrize("user_value", [None, "2"])
def test_segment_runs_one_blas_thread_unless_told(user_value: str | None, seed_page: Path) -> None:
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    env = {name: value for name, value in os.environ.items() if name not in names}
    env["PYTHONPATH"] = str(REPO)
    if user_value:
        env["OPENBLAS_NUM_THREADS"] = user_value
    assert printed_last(SEGMENT_THREADS, seed_page, env=env) == {
        "OPENBLAS_NUM_THREADS": user_value or "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
