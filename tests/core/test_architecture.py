"""Dependencies point one way, imports have no side effects, and the CLI starts fast."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "glmtts"
SERVING_MODULES = (
    "fastapi",
    "gradio",
    "starlette",
    "uvicorn",
    "pydantic_settings",
    "glmtts.serving",
    "glmtts.ui",
)
LOWER_LAYERS = ("engines", "text", "audio", "voices")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_engines_text_audio_never_import_the_serving_layer() -> None:
    offenders = []
    for layer in LOWER_LAYERS:
        for path in (SRC / layer).rglob("*.py"):
            for name in _imported_modules(path):
                if name.startswith(SERVING_MODULES):
                    offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert offenders == []


def test_importing_glmtts_loads_no_heavy_modules() -> None:
    code = (
        "import sys, glmtts, glmtts.errors, glmtts.engines.base, glmtts.engines.registry\n"
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
