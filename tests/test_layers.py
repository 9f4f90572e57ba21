"""The package layers and the import graph: every import of every module, read with ``ast``.

Layers, bottom to top (docs/ARCHITECTURE.md): common < models < preprocessing < evaluation <
train < generate < benchmarks. A package imports only packages below it, and imports inside
functions count as much as those at the top of a file. No two modules import each other,
directly or through others. Tests may import anything, but take part in the cycle check.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("common", "models", "preprocessing", "evaluation", "train", "generate", "benchmarks")
# (importer, imported) -> why. An import that goes up a layer must be listed here with its reason.
KNOWN_UPWARD = {
    ("preprocessing.latents", "train.run_folder"):
        "python -m preprocessing.latents defaults --data-dir to the autoencoder run's data_dir, which only the "
        "run folder reads (its config.yaml into AutoencoderTrainConfig)",
}


def module_name(path, root):
    """``a/b/c.py`` -> ``"a.b.c"``; ``a/b/__init__.py`` -> ``"a.b"``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def python_files(root, folders):
    """Every ``.py`` file under the given top-level folders of ``root``."""
    return sorted(path for folder in folders for path in (root / folder).rglob("*.py"))


def import_graph(root, folders):
    """``{module: {imported module: first line}}`` for every module under ``folders``, edges to those modules only.

    ``import a.b`` and ``from a import b`` (``b`` a module) point at ``a.b``; ``from a.b import name``
    (``name`` not a module) at ``a.b``, a package's ``__init__`` included. Relative imports are resolved.
    """
    files = {module_name(path, root): path for path in python_files(root, folders)}
    graph = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        edges = graph.setdefault(module, {})
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in files:  # import a.b.c of a module a.b: the module
                    target = target.rpartition(".")[0]
                if target and target != module:
                    edges.setdefault(target, node.lineno)
    return graph


def layer(module):
    """The layer index of a module's top-level package, or None (tests, scripts)."""
    top = module.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else None


def upward_imports(graph):
    """``{(importer, imported): line}`` for every import of a module in a higher layer."""
    found = {}
    for module, edges in graph.items():
        for target, line in edges.items():
            if layer(module) is not None and layer(target) is not None and layer(target) > layer(module):
                found[(module, target)] = line
    return found


def import_cycles(graph):
    """The strongly connected components of more than one module (Tarjan), each as a sorted list."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, {}):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(components)


@pytest.fixture(scope="module")
def graph():
    return import_graph(ROOT, LAYERS + ("tests",))


def test_no_package_imports_one_above_it(graph):
    found = upward_imports(graph)
    described = {f"{importer} -> {imported} (line {line})" for (importer, imported), line in found.items()}
    assert set(found) == set(KNOWN_UPWARD), f"upward imports: {sorted(described)}"


def test_no_import_cycle(graph):
    assert import_cycles(graph) == []


def test_the_graph_sees_lazy_imports_and_the_layers(graph):
    # an import inside a function is an edge too
    assert "train.run_folder" in graph["preprocessing.latents"]
    assert "models.sampler_folder" in graph["train.run_folder"]  # imported inside RunFolder's methods
    assert "train.run_folder" in graph["generate.trained_model"]
    assert layer("benchmarks.scale") > layer("generate.sounds") > layer("train.data") > layer("preprocessing.saver")


def test_the_checks_find_an_upward_import_and_a_cycle(tmp_path):
    files = {
        "common/__init__.py": "",
        "common/low.py": "def f():\n    from models import high  # lazy, and upward\n",
        "models/__init__.py": "",
        "models/high.py": "from common.low import f\nfrom . import other\n",
        "models/other.py": "import models.high\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path, ("common", "models"))
    assert upward_imports(graph) == {("common.low", "models.high"): 2}
    assert import_cycles(graph) == [["common.low", "models.high", "models.other"]]
