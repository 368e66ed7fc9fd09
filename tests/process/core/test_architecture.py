"""The layer map holds for every package, there are no import cycles, imports have no side effects, and
the CLI starts fast.

Layers, top to bottom (a module may import its own layer's and lower layers' modules only; lazy imports
inside functions count too)::

    glmtts (the public API), __main__
    cli, ui
    ray (the fleet: Ray Serve replicas and Ray Data batch; imports Ray lazily)
    serving
    jobs
    synthesis
    voices
    engines
    text, audio
    atomic, errors, timing
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src" / "glmtts"
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "atomic", "data", "timing"),
    ("text", "audio"),
    ("engines",),
    ("voices",),
    ("synthesis",),
    ("jobs",),
    ("serving",),
    ("ray",),
    ("cli", "ui"),
    ("tts", "__init__", "__main__"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
#: Same-rank packages that must not import each other either.
SIBLINGS_APART = {("text", "audio"), ("audio", "text"), ("ui", "cli")}
WEB_MODULES = ("fastapi", "gradio", "starlette", "uvicorn", "pydantic_settings")


def _modules() -> dict[str, Path]:
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _nodes(tree: ast.AST, runtime_only: bool) -> list[ast.AST]:
    """Every node, leaving out ``if TYPE_CHECKING:`` blocks when ``runtime_only``."""
    found: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        if runtime_only and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def _imports(path: Path, module: str, runtime_only: bool = False) -> set[str]:
    """Every glmtts module ``path`` imports, at the top or inside functions (relative imports resolved)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8")), runtime_only):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).strip(".")
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "glmtts" or name.startswith("glmtts.")}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_belongs_to_a_layer() -> None:
    assert sorted({_layer(m) for m in _modules()} - set(RANK)) == []


def test_nothing_imports_upward_or_across() -> None:
    modules = _modules()
    offenders = []
    for module, path in modules.items():
        own = _layer(module)
        for name in _imports(path, module):
            if name not in modules and name.rpartition(".")[0] in modules:
                name = name.rpartition(".")[0]  # "from package import name": the name is not a module
            if name not in modules or name == "glmtts":
                continue
            other = _layer(name)
            if RANK[other] > RANK[own] or (own, other) in SIBLINGS_APART:
                offenders.append(f"{module} ({own}) imports {name} ({other})")
    assert offenders == []


def _runtime_graph() -> dict[str, set[str]]:
    """Module -> the modules it imports at run time (package faces left out: they only hand names on)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {
            name if name in modules else name.rpartition(".")[0] for name in _imports(path, module, True)
        }
        graph[module] = {
            t for t in targets if t in modules and t != module and modules[t].name != "__init__.py"
        }
    return graph


def test_no_import_cycles() -> None:
    """Run-time cycles only: a type-only back reference (``if TYPE_CHECKING:``) is not one."""
    graph = _runtime_graph()
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_lower_layers_never_import_the_web_stack() -> None:
    offenders = []
    for module, path in _modules().items():
        if RANK[_layer(module)] >= RANK["serving"]:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{module} imports {n}" for n in names if n.startswith(WEB_MODULES)]
    assert offenders == []


def test_importing_glmtts_loads_no_heavy_modules() -> None:
    code = (
        "import sys, glmtts, glmtts.errors, glmtts.engines.base, glmtts.engines.registry, glmtts.synthesis\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'transformers', 'gradio', 'fastapi') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_cli_help_does_not_import_engines() -> None:
    code = (
        "import sys\n"
        "from glmtts.cli.main import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'transformers', 'gradio') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_cli_version_and_module_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "glmtts", "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.startswith("glmtts ")


def test_cli_without_command_prints_help_and_fails() -> None:
    result = subprocess.run([sys.executable, "-m", "glmtts"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "usage: glmtts" in result.stdout
