"""pyproject.toml: the console scripts name importable CLI entry points, every CLI has one, and the
declared dependencies are requirements.txt's."""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SCRIPTS = PYPROJECT["project"]["scripts"]
PACKAGES = ("common", "models", "preprocessing", "evaluation", "train", "generate")  # benchmarks/ stay in the clone


def cli_modules():
    """Dotted names of the installed packages' modules that run as ``python -m`` (a ``__main__`` block)."""
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text())
            if any(isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) for node in tree.body):
                names.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return names


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_console_script_names_an_importable_main(name):
    assert re.fullmatch(r"spectro-[a-z]+(-[a-z]+)*", name)
    module_name, _, attribute = SCRIPTS[name].partition(":")
    function = getattr(importlib.import_module(module_name), attribute)
    assert callable(function) and list(inspect.signature(function).parameters) == ["argv"]
    with pytest.raises(SystemExit) as exited:  # --help parses and exits 0, as `spectro-... --help` does
        function(["--help"])
    assert exited.value.code == 0


def test_every_cli_has_a_console_script():
    targets = {target.partition(":")[0] for target in SCRIPTS.values()}
    assert targets == set(cli_modules())
    assert len(set(SCRIPTS.values())) == len(SCRIPTS)


def test_packages_and_dependencies_match_the_layers_and_requirements():
    assert PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == [f"{p}*" for p in PACKAGES]
    requirements = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    requirements = [r for r in requirements if r and not r.startswith("pytest")]
    assert PYPROJECT["project"]["dependencies"] == requirements
    assert PYPROJECT["project"]["optional-dependencies"]["test"] == ["pytest>=8"]
