"""Running heads, folios and paragraph numbers as artifacts in the tagged PDF.

PDF/UA-1 wants content that is not part of the text (running heads, page
numbers) marked as ``/Artifact``, so assistive technology skips it. WeasyPrint
tags the text of its margin boxes as ``/Span`` with an MCID and builds
structure elements for it that it never links into the structure tree (its
code says an artifact node would need PDF 2.0). That content is reachable
from no heading or paragraph, yet it is not an artifact either.

This pass finds every marked-content sequence whose structure element is not
reachable from the structure tree's root, turns it into an ``/Artifact``
sequence, and drops it from the parent tree.

A numbered paragraph's number (``.paragraph-number::before`` in the styles) is
drawn in the margin, out of the flow. WeasyPrint tags it as the paragraph's first
child (a ``/Span`` holding the pseudo-element's ``/NonStruct``), so a screen
reader would read it into the first sentence. Being absolutely positioned, it is
painted after the page's text: its content comes later on the page than the
paragraph's own, though its element comes first. Such an element is taken out of
the paragraph, and its content becomes an artifact like the margin boxes'.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, TypeGuard

import pikepdf

from .pdftext import fix_text_layer, parent_array


def finish(data: bytes) -> bytes:
    """The PDF with its tags finished (``mark_orphans_as_artifacts``) and its text layer
    fixed (``pdftext.fix_text_layer``)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        changed = _finish_tags(pdf) | fix_text_layer(pdf)
        return _saved(pdf) if changed else data


def mark_orphans_as_artifacts(data: bytes) -> bytes:
    """The PDF with unreachable tagged content (margin boxes) marked as artifacts."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return _saved(pdf) if _finish_tags(pdf) else data


def _finish_tags(pdf: pikepdf.Pdf) -> bool:
    """Artifacts and header scopes in an open file; whether anything changed."""
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return False
    changed = _detach_margin_numbers(root)
    reachable = {element.objgen for element in _elements(root)}
    changed |= _scope_header_cells(root)
    for page in pdf.pages:
        changed |= _mark_page(pdf, page, reachable)
    return changed


def _saved(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True, compress_streams=True)
    return out.getvalue()


def _elements(node: pikepdf.Object) -> Iterator[pikepdf.Dictionary]:
    """Every structure element below ``node``, depth first."""
    kids = node.get("/K") if isinstance(node, pikepdf.Dictionary) else None
    if kids is None:
        return
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from _elements(kid)


def _detach_margin_numbers(root: pikepdf.Object) -> bool:
    """Take each paragraph's number (see the module's docstring) out of its paragraph;
    whether there was one."""
    changed = False
    for element in _elements(root):
        if element.S == "/P" and _starts_with_margin_number(element):
            del element.K[0]
            changed = True
    return changed


def _starts_with_margin_number(paragraph: pikepdf.Dictionary) -> bool:
    """Whether the paragraph's first child is content drawn out of the flow: painted
    after the child that follows it on the same page."""
    kids = paragraph.get("/K")
    if not isinstance(kids, pikepdf.Array) or len(kids) < 2:
        return False
    first, after = kids[0], kids[1]
    if not (_is_on_a_page(first) and _is_on_a_page(after)):
        return False
    if first.Pg.objgen != after.Pg.objgen:
        return False
    drawn, following = list(_mcids(first)), list(_mcids(after))
    return bool(drawn and following) and min(drawn) > max(following)


def _is_on_a_page(kid: pikepdf.Object) -> TypeGuard[pikepdf.Dictionary]:
    """Whether ``kid`` is a structure element that names its page (``/Pg``)."""
    return isinstance(kid, pikepdf.Dictionary) and "/Pg" in kid


def _mcids(element: pikepdf.Dictionary) -> Iterator[int]:
    """The marked-content ids of an element and of the elements below it."""
    kids = element.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield from _mcids(kid)
        elif isinstance(kid, int):
            yield kid


def _scope_header_cells(node: pikepdf.Object, in_head: bool = False) -> bool:
    changed = False
    kids = node.get("/K") if isinstance(node, pikepdf.Dictionary) else None
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if not (isinstance(kid, pikepdf.Dictionary) and "/S" in kid):
            continue
        attributes = kid.get("/A")
        if kid.S == "/TH" and not (
            isinstance(attributes, pikepdf.Dictionary) and "/Scope" in attributes
        ):
            if not isinstance(attributes, pikepdf.Dictionary):
                attributes = kid.A = pikepdf.Dictionary(O=pikepdf.Name.Table)
            attributes.Scope = pikepdf.Name.Column if in_head else pikepdf.Name.Row
            changed = True
        changed |= _scope_header_cells(kid, in_head or kid.S == "/THead")
    return changed


def _mark_page(pdf: pikepdf.Pdf, page: pikepdf.Page, reachable: set[tuple[int, int]]) -> bool:
    parents = parent_array(pdf, page)
    if parents is None:
        return False
    orphans = {
        mcid
        for mcid, element in enumerate(parents)
        if isinstance(element, pikepdf.Dictionary) and element.objgen not in reachable
    }
    if not orphans:
        return False
    instructions: list[Any] = []
    for instruction in pikepdf.parse_content_stream(page):
        is_tagged = isinstance(instruction, pikepdf.ContentStreamInstruction) and (
            str(instruction.operator) == "BDC"
        )
        if is_tagged and _mcid(list(instruction.operands)) in orphans:
            artifact = pikepdf.ContentStreamInstruction(
                [pikepdf.Name.Artifact], pikepdf.Operator("BMC")
            )
            instructions.append(artifact)
        else:
            instructions.append(instruction)
    page.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))
    for mcid in orphans:
        parents[mcid] = None
    return True


def _mcid(operands: list[pikepdf.Object]) -> int | None:
    if len(operands) == 2 and isinstance(operands[1], pikepdf.Dictionary):
        value = operands[1].get("/MCID")
        return int(value) if value is not None else None
    return None
