"""A griffe extension for the docs build: Sphinx roles in docstrings become code spans.

The code's docstrings cross-reference with Sphinx roles (``:class:`ProxyEnv```),
which mkdocstrings would print literally; this turns each into ```ProxyEnv```.
It rewrites every docstring once the whole package is loaded, so docstrings
other extensions add (griffe-sphinx's ``#:`` attribute comments) are covered.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|attr|data|obj|exc|const):`~?([^`]+)`")


def _rewrite(obj: griffe.Object, seen: set[str]) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    if obj.docstring is not None:
        obj.docstring.value = ROLE.sub(r"`\1`", obj.docstring.value)
    for member in obj.members.values():
        if not member.is_alias:
            _rewrite(member, seen)  # type: ignore[arg-type]


class SphinxRolesAsCode(griffe.Extension):
    """Rewrite ``:role:`target``` as the code span ``target`` in every docstring."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        _rewrite(pkg, set())
