"""Runtime patches to citeproc-py 0.11.1 used to size the fixes (research only).

Each patch names the place in citeproc-py where a real fix would go.
"""
from __future__ import annotations

import re

from citeproc import model, source
from citeproc.model import If, Name, Names, Text, VariableError


def apply() -> list[str]:
    applied = []

    # P1 source/__init__.py: Locator has no __eq__, so ibid vs ibid-with-locator
    # compares object identity and a repeated identical locator is "ibid-with-locator".
    def _eq(self, other):
        return (isinstance(other, source.Locator) and self.label == other.label
                and str(self.identifier) == str(other.identifier))
    source.Locator.__eq__ = _eq
    source.Locator.__hash__ = lambda self: hash((self.label, str(self.identifier)))
    applied.append("P1 Locator.__eq__")

    # P2 model.py If._is_numeric: is-numeric="locator" is tested against the
    # reference, where "locator" never is, so Chicago's label-locator drops "chap.".
    def _is_numeric(self, item):
        out = []
        for var in self.get("is-numeric").split():
            if var == "locator":
                value = str(item.locator.identifier) if item.has_locator else None
            else:
                value = item.reference.get(var.replace("-", "_"))
            out.append(value is not None and bool(
                re.match(r"^\D*\d+\D*([-–,&]\s*\D*\d+\D*)*$", str(value))))
        return out
    If._is_numeric = _is_numeric
    applied.append("P2 If._is_numeric(locator)")

    # P3 model.py If.render: disambiguate="true" is ignored, so a branch testing only
    # it is always taken (the short note gets "ed. Leffler and Westad").
    orig_render = If.render
    def _render(self, item, context=None, delimiter="", **kwargs):
        if self.get("disambiguate") == "true" and len(self.attrib) == 1:
            raise model.ConditionFailed
        if self.get("disambiguate") == "true" and self.get("match") == "none" and len(self.attrib) == 2:
            return self.render_children(item, context=context, delimiter=delimiter, **kwargs)
        return orig_render(self, item, context=context, delimiter=delimiter, **kwargs)
    If.render = _render
    model.Else_If.render = _render
    applied.append("P3 If.render(disambiguate=false)")

    # P4 model.py Name.process/initialize: initialize="false" (keep full given
    # names, only normalise initials) is ignored; "Aleksandr" becomes "A.".
    orig_initialize = Name.initialize
    def _initialize(self, given, mark, context):
        if self.get("initialize", "true") == "false":
            parts = given.split()
            if all(re.fullmatch(r"(\w\.)+", p) for p in parts if p):
                return orig_initialize(self, given, mark, context)
            return given
        return orig_initialize(self, given, mark, context)
    Name.initialize = _initialize
    applied.append("P4 Name.initialize(initialize=false)")

    # P5 model.py Text._variable: page-range-format is applied to `page` but not to a
    # page locator (545–547 should be 545–47 in chicago-16).
    orig_variable = Text._variable
    def _variable(self, item, context):
        if self.get("variable") == "locator" and item.has_locator and item.locator.label == "page":
            return self._process(str(item.locator.identifier), "page")
        return orig_variable(self, item, context)
    Text._variable = _variable
    applied.append("P5 Text._variable(locator page ranges)")

    # P6 model.py Names.process: a names variable that a cs:substitute already used
    # (editor standing for a missing author) is not suppressed later on.
    orig_names_process = Names.process
    def _names_process(self, item, names_context=None, context=None, **kwargs):
        ctx = context if context is not None else self
        repressed = ctx.get_layout().repressed.get(Names.__name__.lower(), None)
        layout_rep = ctx.get_layout().repressed
        used = set()
        for k, v in layout_rep.items():
            if str(k).endswith("names"):
                for var in v:
                    used.update((var or "").split())
        roles = self.get("variable").split()
        if used and names_context is None and all(r in used for r in roles if r in item.reference):
            if any(r in item.reference for r in roles):
                raise VariableError
        return orig_names_process(self, item, names_context=names_context, context=context, **kwargs)
    Names.process = _names_process
    applied.append("P6 Names.process(substitute suppression)")
    return applied
