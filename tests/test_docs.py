"""Every hook is documented: a docstring in core/hookspecs.py and a section in docs/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import hookspecs
from core.plugins import get_plugin_manager

DOCS = Path(__file__).resolve().parent.parent / "docs"
HOOK_NAMES = sorted(name for name in dir(get_plugin_manager().hook) if not name.startswith("_"))


def headings() -> set[str]:
    text = (DOCS / "plugin_hooks.md").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^#+ `([^`]+)`\s*$", text, re.MULTILINE)}


def test_there_are_hooks():
    assert {"activate_order", "credit_full", "credit_partial", "transfer_discount",
            "handle_return", "verify_delivery", "parse_delivery"} <= set(HOOK_NAMES)


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_hook_has_a_docstring(name):
    spec = getattr(hookspecs, name)
    assert spec.__doc__ and len(spec.__doc__.strip()) > 40


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_hook_has_a_section_in_the_docs(name):
    spec = get_plugin_manager().hook.__dict__[name].spec
    assert f"{name}({', '.join(spec.argnames)})" in headings()


def sections() -> dict[str, str]:
    text = (DOCS / "plugin_hooks.md").read_text(encoding="utf-8")
    parts = re.split(r"^## `", text, flags=re.MULTILINE)[1:]
    return {part.split("(", 1)[0]: part for part in parts}


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_hook_section_says_when_with_what_what_back_and_shows_an_example(name):
    section = sections()[name]
    for part in ("**Called:**", "**Arguments:**", "**Returns:**", "```python"):
        assert part in section, f"the section of {name} has no {part}"


def test_the_hook_reference_is_the_hookspecs_docstrings():
    from core.hookdocs import render

    committed = (DOCS / "hook_reference.md").read_text(encoding="utf-8")
    assert committed == render(), "run: python -m core.hookdocs > docs/hook_reference.md"
