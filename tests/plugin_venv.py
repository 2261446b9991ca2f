"""A new virtualenv that sees the kit (and its dependencies) through a ``.pth`` file, for
installing a plugin package with ``pip install -e`` as an integrator would."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path


def run(*args: str | Path, cwd: Path | None = None, env: dict | None = None,
        ok: bool = True) -> str:
    """Run a command; its output, or a failed assertion with it."""
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=300)
    assert (result.returncode == 0) is ok, result.stdout + result.stderr
    return result.stdout + result.stderr


def venv_with_kit(where: Path) -> tuple[Path, dict[str, str]]:
    """The new virtualenv's python, and an environment for it without the test suite's
    INVOICEKIT_* settings (its kit uses an instance folder in ``where``)."""
    venv = where / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    (Path(site.strip()) / "invoicekit-kit.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOICEKIT_")}
    env["INVOICEKIT_HOME"] = str(where / "instance")
    return python, env


def install_plugin(where: Path, name: str) -> tuple[Path, dict[str, str]]:
    """The plugin package ``where/name`` installed with ``pip install -e`` in a new
    virtualenv that sees the kit: its python and environment."""
    python, env = venv_with_kit(where)
    run(python, "-m", "pip", "install", "-q", "--no-deps", "-e", where / name)
    return python, env
