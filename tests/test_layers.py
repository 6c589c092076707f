"""The house's layers (README "Architecture"): a package imports only packages of its own layer
or of a lower one, at the top of a module; the few imports that reach up run inside a function
and are listed here with their reason. Modules of one layer may import each other, and
``python3 ../shared/tools/import_cycles.py vbt`` (and this test's own check) keeps those imports
free of circles."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

VBT = Path(__file__).resolve().parents[1] / "vbt"

#: lowest first. ``vbt`` is the package's facade (``vbt/__init__.py``): it imports the bar
#: readers and the errors, and every other public name lazily on first use, so any module may
#: use ``vbt.<name>`` and the facade is left out of the layer check
LAYERS: list[tuple[str, set[str]]] = [
    ("foundation", {"_runtime", "errors", "enums", "jit", "arrays", "timefmt", "atomic", "paths",
                    "arguments", "vbt"}),
    ("inputs", {"data", "params", "decide", "strategy", "features", "model", "config"}),
    ("one run", {"sim", "signals", "metrics", "summary", "results", "stages", "engine"}),
    ("many runs", {"sweeps", "research", "batches"}),
    ("surfaces", {"report", "cli", "worker", "mcp", "warmup", "demo"}),
]  # fmt: skip

#: imports that reach a higher layer, always inside a function: (importer, imported): why
UPWARD = {
    ("model", "signals"): "ModelBundle.predict, a convenience, runs the batched inference",
    ("results", "report"): "a result's .report() renders its page",
    ("results", "sweeps"): "SweepResult's type hints (TYPE_CHECKING only)",
}


def layer_of(unit: str) -> int:
    return next(i for i, (_, units) in enumerate(LAYERS) if unit in units)


def unit_of(path: Path) -> str:
    """A module's unit: its package under vbt/, or its own name for a top-level module."""
    parts = path.relative_to(VBT).with_suffix("").parts
    return "vbt" if parts == ("__init__",) else parts[0]


def module_of(path: Path) -> str:
    parts = ("vbt", *path.relative_to(VBT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, bool, int]]:
    """(imported vbt module, at the module's top level, line) of each import in ``path``."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from vbt.pkg import submodule` imports vbt.pkg.submodule; else the module itself
            names = [
                f"{node.module}.{a.name}"
                if (VBT.parent / node.module.replace(".", "/") / f"{a.name}.py").is_file()
                or (VBT.parent / node.module.replace(".", "/") / a.name).is_dir()
                else node.module
                for a in node.names
            ]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name == "vbt" or name.startswith("vbt."):
                found.append((name, id(node) in top, node.lineno))
    return found


def target_unit(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__version__":
        return "vbt"
    return parts[1]


def test_every_package_has_a_layer():
    units = {unit_of(p) for p in VBT.rglob("*.py")}
    declared = set().union(*(u for _, u in LAYERS))
    assert units - declared == set(), "give each new package a layer in LAYERS and the README"
    assert declared - units == set()


def test_no_package_imports_a_higher_layer():
    wrong, used = [], set()
    for path in sorted(VBT.rglob("*.py")):
        src = unit_of(path)
        for module, at_top, line in imports(path):
            dst = target_unit(module)
            if "vbt" in (src, dst) or dst == src or layer_of(dst) <= layer_of(src):
                continue
            if not at_top and (src, dst) in UPWARD:
                used.add((src, dst))
                continue
            where = "at the top" if at_top else "in a function"
            wrong.append(f"{path.relative_to(VBT.parent)}:{line}: {src} imports {module} {where}")
    assert wrong == []
    assert used == set(UPWARD), "an exception no longer needed: remove it from UPWARD"


def test_the_top_level_imports_have_no_circle():
    """Module-level imports between vbt's modules form no circle (what Python runs at import)."""
    graph = defaultdict(set)
    modules = {module_of(p) for p in VBT.rglob("*.py")}
    for path in VBT.rglob("*.py"):
        for module, at_top, _ in imports(path):
            while module not in modules and "." in module:
                module = module.rsplit(".", 1)[0]  # `from vbt.x import name`: the module vbt.x
            if at_top and module != module_of(path):
                graph[module_of(path)].add(module)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(modules):
        if node not in state:
            visit(node, [node])
