"""``python -m core.hookdocs``: the hook reference (``docs/hook_reference.md``), rendered
from the docstrings in :mod:`core.hookspecs`, the contract's single source. A test checks
that the committed page is what this renders."""

from __future__ import annotations

import inspect
import re

from core import hookspecs

__all__ = ["render"]

FAMILY = re.compile(r"^# -- (\w+) hooks -+$", re.MULTILINE)
FIELD = re.compile(r"^:(param|return|raises)\s*([\w.]*):\s*", re.MULTILINE)


def _markdown(docstring: str) -> str:
    """Sphinx fields as a list, roles and double backticks as code."""
    text = inspect.cleandoc(docstring)
    text = re.sub(r":(?:class|func|mod|data|meth):`~?([^`]+)`", r"`\1`", text)
    text = text.replace("``", "`")

    def field(match: re.Match[str]) -> str:
        kind, name = match.groups()
        label = {"param": f"`{name}`", "return": "returns", "raises": f"raises `{name}`"}[kind]
        return f"- **{label}:** "

    text = FIELD.sub(field, text)
    # continuation lines of a field are indented by four: two are enough in a list
    return re.sub(r"^    ", "  ", text, flags=re.MULTILINE)


def render() -> str:
    """The whole page."""
    source = inspect.getsource(hookspecs)
    families = [(m.start(), m.group(1)) for m in FAMILY.finditer(source)]
    out = ["# Hook reference", "",
           "Every hook of the plugin contract, from the docstrings in `core/hookspecs.py`",
           "(`python -m core.hookdocs > docs/hook_reference.md`; a test keeps this page and the",
           "code in step). How the kit calls hooks, and a worked example for each:",
           "[plugin_hooks.md](plugin_hooks.md). Types: `core/context.py`, `core/operations.py`,",
           "`core/snapshot.py`; the snapshot's JSON form:",
           "[operations.md](operations.md#the-canonical-order-snapshot); the generic event",
           "format: [generic-events.schema.json](generic-events.schema.json)."]
    specs = [(inspect.getsourcelines(f)[1], name, f) for name, f in vars(hookspecs).items()
             if callable(f) and hasattr(f, "invoicekit_spec")]
    current = None
    for _, name, function in sorted(specs):
        line_start = source.index(f"def {name}(")
        family = max((f for f in families if f[0] < line_start), default=(0, "other"))[1]
        if family != current:
            out += ["", f"## {family.capitalize()} hooks"]
            current = family
        args = ", ".join(inspect.signature(function).parameters)
        kind = ("firstresult: the first answer that is not `None` counts"
                if function.invoicekit_spec.get("firstresult") else
                "every implementation runs; all answers count")
        out += ["", f"### `{name}({args})`", "", f"*{kind}*", "",
                _markdown(function.__doc__ or "")]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
