"""The package's shape: parts in folders, dependencies one way, no cycles, a light import."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "descend"
#: the parts, lowest first: a part may import only itself and the parts before it
LAYERS = ["data", "problems", "descent", "studies", "pictures", "shells"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """descend modules imported anywhere in the file (inside functions too)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level > 1:
                base = base[: len(base) - (node.level - 1)]
            mod = ".".join(base + [node.module or ""]) if node.level else (node.module or "")
            targets = [mod.rstrip(".")] + [f"{mod}.{a.name}" for a in node.names]
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    graph = {}
    for name, path in files.items():
        deps = _imports(path, modules)
        if path.name == "__init__.py":  # a package re-exporting its children is not a cycle
            deps = {d for d in deps if not d.startswith(name + ".")}
        graph[name] = deps
    return graph


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_no_import_cycles_counting_function_local_imports():
    """Tarjan's strongly connected components over every import, local ones included."""
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == []


def test_dependencies_point_one_way():
    """shells → pictures → studies → descent → problems → data, never back up."""
    wrong = []
    for module, deps in _graph().items():
        here = _part(module)
        if here is None:
            continue
        for dep in deps:
            there = _part(dep)
            if dep == "descend" or (there is not None and LAYERS.index(there) > LAYERS.index(here)):
                wrong.append(f"{module} -> {dep}")
    # the version string is the one upward read allowed (serialised into results, checkpoints)
    wrong = [w for w in wrong if not w.endswith("-> descend")]
    assert wrong == []


def test_top_level_shows_the_parts():
    """A handful of entries at the top of the package: the parts, the API, the entry points."""
    entries = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert entries == sorted(["__init__.py", "__main__.py", "estimators.py", *LAYERS]), entries


def test_readme_layout_matches_the_tree():
    """Every folder and module the README's Layout section names exists, and every part and
    module of the package is named there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    named = set(re.findall(r"`([a-z_]+(?:/|\.py))`", table))
    for item in named:
        hits = list(PACKAGE.rglob(item.rstrip("/"))) + list(PACKAGE.rglob(item))
        assert hits, f"the README's Layout names {item}, which is not in src/descend"
    modules = {p.name for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"}
    folders = {p.name + "/" for p in PACKAGE.rglob("*") if p.is_dir() and p.name != "__pycache__"}
    folders.discard("nist/")
    missing = sorted((modules | folders) - named)
    assert missing == [], f"not in the README's Layout: {missing}"
    assert "docs/architecture.md" in readme


def test_architecture_doc_names_every_part():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for part in LAYERS:
        assert f"`{part}/`" in doc, part


def _fresh(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return out.stdout.strip()


def test_import_descend_is_light():
    """No studies, pictures, web or plotting code until used; NumPy is the only dependency."""
    loaded = _fresh("import sys, descend; print(' '.join(sorted(sys.modules)))").split()
    ours = [m for m in loaded if m.startswith("descend.")]
    assert not [m for m in ours if m.startswith(("descend.studies", "descend.pictures"))]
    assert not [m for m in ours if m.startswith("descend.shells")]
    for heavy in ("matplotlib", "scipy", "sklearn", "dask", "fastapi", "pandas", "torch"):
        assert heavy not in loaded, heavy


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("plot", "descend.pictures.plot"),
        ("animate", "descend.pictures.animate"),
        ("report", "descend.pictures.report"),
        ("certify", "descend.studies.certify"),
        ("landscape", "descend.studies.landscape"),
        ("compare", "descend.studies.compare"),
    ],
)
def test_lazy_attributes_load_on_first_use(name, module):
    """``ds.plot`` etc. work as attributes after ``import descend as ds``, loaded then."""
    code = (
        f"import sys, descend as ds; before = {module!r} in sys.modules; ds.{name}; "
        f"print(before, {module!r} in sys.modules)"
    )
    assert _fresh(code) == "False True"


def test_public_names_of_the_contract():
    """The names users and outside checks rely on."""
    import descend as ds
    from descend.estimators import GDRegressor  # noqa: F401

    for name in ("fit", "minimize", "objective", "check_grad", "compare", "lr_sweep", "resume"):
        assert callable(getattr(ds, name)), name
    assert callable(ds.optim.adam) and callable(ds.surfaces.himmelblau)
    assert callable(ds.datasets.load) and callable(ds.plot.plot_contour)
    assert set(ds.__all__) <= set(dir(ds))


def test_public_modules_define_all():
    missing = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("__main__.py",) or "/web/static" in str(path):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        }
        if "__all__" not in names:
            missing.append(_module_name(path))
    assert missing == []
