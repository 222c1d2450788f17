"""Imports only flow downwards (DESIGN.md section 3): a module never imports a higher layer."""
import ast
from pathlib import Path

import neuroplastic

LAYER = {"data": 0, "streams": 1, "neurons": 1, "reservoir": 1, "rules": 2, "memory": 2, "models": 2, "metrics": 2,
         "methods": 3, "testing": 4, "run": 4, "report": 5, "cli": 6}
ROOT = Path(neuroplastic.__file__).parent


def _layer(parts):
    return LAYER.get(parts[0].removesuffix(".py")) if parts else None


def _targets(node, rel):
    """Module paths (inside neuroplastic) that an import statement in file ``rel`` refers to."""
    if isinstance(node, ast.Import):
        return [a.name.split(".")[1:] for a in node.names if a.name.startswith("neuroplastic.")]
    if node.level:
        base = list(rel[: len(rel) - node.level])
    elif (node.module or "").startswith("neuroplastic"):
        base = []
    else:
        return []
    mod = base + [p for p in (node.module or "").split(".") if p and p != "neuroplastic"]
    return [mod] if mod else [[a.name] for a in node.names]


def test_no_upward_imports():
    bad = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).parts
        mine = _layer(rel)
        if mine is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(node, rel):
                    other = _layer(target)
                    if other is not None and other > mine:
                        bad.append(f"{'/'.join(rel)}:{node.lineno} imports {'.'.join(target)}")
    assert not bad, f"upward imports: {bad}"
