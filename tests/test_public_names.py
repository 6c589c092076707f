"""Every ``vbt.<name>`` the README uses is reachable the way the README uses it.

``import vbt`` alone must give ``vbt.load_strategy`` and ``vbt.strategy.load_strategy`` alike
(the facade imports public names and subpackages lazily, on first use), without importing torch.
A deeper name (``vbt.results.saved``) is reached after importing its module, as Python does.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
VBT = Path(__file__).resolve().parents[1] / "vbt"


def readme_names() -> list[str]:
    """The dotted ``vbt.`` names inside the README's code spans and blocks."""
    code = " ".join(re.findall(r"`([^`]+)`", README.read_text()))
    names = set(re.findall(r"\bvbt(?:\.[A-Za-z_][A-Za-z0-9_]*)+", code))
    return sorted(n.rstrip(".") for n in names)


def module_prefix(name: str) -> str:
    """The longest prefix of ``name`` (beyond ``vbt.<first>``) that is a module of vbt."""
    parts = name.split(".")
    best = "vbt"
    for k in range(3, len(parts) + 1):
        rel = Path(*parts[1:k])
        if (VBT / rel).with_suffix(".py").is_file() or (VBT / rel / "__init__.py").is_file():
            best = ".".join(parts[:k])
    return best


def test_readme_names_are_found():
    names = readme_names()
    assert {"vbt.load_strategy", "vbt.sweep", "vbt.research.run"} <= set(names)


def test_every_readme_name_resolves_after_import_vbt():
    """Each README name, in a fresh interpreter: ``import vbt`` (and the module holding a deeper
    name), then attribute access; and torch is not imported by any of it."""
    script = "\n".join(
        [
            "import importlib, sys, vbt",
            "bad = []",
            f"for name, mod in {[(n, module_prefix(n)) for n in readme_names()]!r}:",
            "    obj = importlib.import_module(mod) if mod != 'vbt' else vbt",
            "    try:",
            "        for part in name[len(mod) + 1:].split('.') if name != mod else []:",
            "            obj = getattr(obj, part)",
            "    except AttributeError as e:",
            "        bad.append(f'{name}: {e}')",
            "assert not bad, bad",
            "assert 'torch' not in sys.modules",
        ]
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]


def test_subpackages_reachable_after_bare_import():
    """The issue's own example: ``import vbt; vbt.strategy.load_strategy`` (and the other
    packages of the inputs layer) with nothing else imported first."""
    code = (
        "import sys, vbt;"
        "assert callable(vbt.strategy.load_strategy);"
        "assert callable(vbt.features.build_features);"
        "assert vbt.model.ModelBundle and callable(vbt.model.train);"
        "assert callable(vbt.research.run);"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
