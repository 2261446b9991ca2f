"""``invoicekit new-plugin``: a ready-to-install plugin package from a template.

The templates are the ``*.tmpl`` files beside this module, one folder per kind; ``NAME``,
``Name`` and ``PACKAGE`` in their paths and ``$name``, ``$Name``, ``$package`` in their text
are replaced.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from core.errors import ConfigurationError

__all__ = ["KINDS", "create_plugin"]

TEMPLATES = Path(__file__).resolve().parent
KINDS = ("shop", "provider")


def create_plugin(kind: str, name: str, where: Path) -> Path:
    """Write the ``kind`` plugin package for ``name`` into ``where/name``; its folder."""
    if kind not in KINDS:
        raise ConfigurationError(f"no template for a {kind} plugin; choose from "
                                 f"{', '.join(KINDS)}")
    if not re.fullmatch(r"[a-z][a-z0-9]{1,30}", name):
        raise ConfigurationError("a plugin name is 2 to 31 lower-case letters and digits, "
                                 "starting with a letter (it is the platform name in URLs)")
    target = where / name
    if target.exists():
        raise ConfigurationError(f"{target} exists already")
    values = {"name": name, "Name": name.capitalize(), "package": f"invoicekit_{name}"}
    source = TEMPLATES / kind
    for template in sorted(source.rglob("*.tmpl")):
        relative = str(template.relative_to(source).with_suffix(""))
        for word, value in (("PACKAGE", values["package"]), ("NAME", name)):
            relative = relative.replace(word, value)
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template.read_text(encoding="utf-8")).substitute(values),
                        encoding="utf-8")
    return target
