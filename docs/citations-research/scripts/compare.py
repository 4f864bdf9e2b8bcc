"""Render the citation cases with citeproc-py and compare with pandoc's citeproc.

Scratch research code for issue 16 (not for the repository). Pandoc's own
Markdown reader finds the citations (`pandoc -t json`); a small pandoc-like
locator parser splits each suffix into label, locator and suffix; citeproc-py
renders the citations in document order with the same CSL file and CSL-JSON data.
The pandoc side is read from its HTML output (fixtures/pandoc-chicago-*.html).
"""
from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

from lxml import html as lhtml

from citeproc import (Citation, CitationItem, CitationStylesBibliography,
                      CitationStylesStyle, Locator, formatter)
from citeproc.source.json import CiteProcJSON

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures"
PANDOC = ROOT / ".venv/lib/python3.11/site-packages/pypandoc/files/pandoc"

# Pandoc's English locator abbreviations (the en-US locale's short terms), longest first.
LABELS = {
    "pp.": "page", "p.": "page", "chaps.": "chapter", "chap.": "chapter", "ch.": "chapter",
    "secs.": "section", "sec.": "section", "§§": "section", "§": "section",
    "nn.": "note", "n.": "note", "vols.": "volume", "vol.": "volume", "paras.": "paragraph",
    "para.": "paragraph", "fols.": "folio", "fol.": "folio", "ll.": "line", "l.": "line",
    "cols.": "column", "col.": "column", "figs.": "figure", "fig.": "figure", "bk.": "book",
    "pts.": "part", "pt.": "part", "vv.": "verse", "v.": "verse", "op.": "opus", "no.": "issue",
}


def stringify(inlines: list) -> str:
    out = []
    for il in inlines:
        t = il["t"]
        if t == "Str":
            out.append(il["c"])
        elif t in ("Space", "SoftBreak"):
            out.append(" ")
        elif t in ("Emph", "Strong", "SmallCaps", "Span", "Quoted"):
            c = il["c"]
            inner = c[-1] if t in ("Span", "Quoted") else c
            out.append(stringify(inner))
    return "".join(out)


def split_locator(suffix: str) -> tuple[str | None, str | None, str]:
    """Pandoc-like: ', LABEL LOCATOR, rest' -> (label, locator, rest)."""
    s = suffix.strip()
    if s.startswith(","):
        s = s[1:].lstrip()
    label = None
    for abbr in sorted(LABELS, key=len, reverse=True):
        if s.startswith(abbr):
            label, s = LABELS[abbr], s[len(abbr):].lstrip()
            break
    if label is None:
        if not s[:1].isdigit():
            return None, None, suffix          # e.g. "doc. 62": a plain suffix
        label = "page"
    # the locator runs to a comma followed by a space and a non-digit
    m = re.match(r"(.+?)(,\s+(?=\D).*)?$", s)
    loc, rest = m.group(1), m.group(2) or ""
    return label, loc.strip(), rest


def cases_from_ast() -> list[dict]:
    ast = json.loads(subprocess.run([str(PANDOC), str(FIX / "cases.md"), "-t", "json"],
                                    capture_output=True, text=True, check=True).stdout)
    cases = []

    def walk_inlines(inlines, case, in_note):
        for il in inlines:
            t = il["t"]
            if t == "Cite":
                case["cites"].append({"in_note": in_note, "items": il["c"][0]})
            elif t == "Note":
                for blk in il["c"]:
                    if blk["t"] in ("Para", "Plain"):
                        walk_inlines(blk["c"], case, True)
            elif t in ("Emph", "Strong", "Span", "Quoted"):
                walk_inlines(il["c"][-1] if t in ("Span", "Quoted") else il["c"], case, in_note)

    for blk in ast["blocks"]:
        if blk["t"] != "Para":
            continue
        text = stringify(blk["c"])
        m = re.match(r"(C\d\d)\.", text)
        if not m:
            continue
        case = {"id": m.group(1), "cites": []}
        walk_inlines(blk["c"], case, False)
        cases.append(case)
    return cases


def make_item(c: dict) -> tuple[CitationItem, str]:
    key = c["citationId"]
    label, loc, rest = split_locator(stringify(c["citationSuffix"]))
    kw = {}
    prefix = stringify(c["citationPrefix"])
    if prefix:
        kw["prefix"] = prefix + " "
    if rest:
        kw["suffix"] = rest
    if loc is not None:
        kw["locator"] = Locator(label, loc)
    return CitationItem(key, **kw), c["citationMode"]["t"]


def smart_quotes(refs: list[dict]) -> list[dict]:
    """Module layer: straight double quotes in CSL-JSON strings to typographic ones."""
    def fix(v):
        if isinstance(v, str):
            return re.sub(r'"([^"]*)"', "\u201c\\1\u201d", v)
        return v
    return [{k: fix(v) for k, v in r.items()} for r in refs]


def post(text: str, note_style: bool) -> str:
    """Module layer: punctuation inside closing quotes (en-US) and a capital at a note's start."""
    text = re.sub(r"\u201d([,.])", "\\1\u201d", text)
    if note_style and text[:1].islower():
        text = text[0].upper() + text[1:]
    return text


def render_citeproc_py(style_file: Path, cases: list[dict], patched: bool = False) -> tuple[dict, dict, list[str]]:
    refs = json.loads((FIX / "refs.json").read_text(encoding="utf-8"))
    if patched:
        refs = smart_quotes(refs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source = CiteProcJSON(refs)
        style = CitationStylesStyle(str(style_file), validate=False)
        bib = CitationStylesBibliography(style, source, formatter.html)
        citations = []
        for case in cases:
            for cite in case["cites"]:
                items = [make_item(c) for c in cite["items"]]
                citation = Citation([it for it, _ in items])
                bib.register(citation)
                citations.append((case["id"], cite, citation, [m for _, m in items]))
        # nocite: registered for the bibliography only
        bib.register(Citation([CitationItem("gribkov1994")]))
        out: dict[str, list[str]] = {}
        note_style = "notes" in style_file.name
        for cid, cite, citation, modes in citations:
            text = str(bib.cite(citation, lambda item: f"[{item.key}?]"))
            if patched:
                text = post(text, note_style and not cite["in_note"])
            out.setdefault(cid, []).append(text)
        # the bibliography from bare items: citeproc-py otherwise renders the
        # first registered CitationItem, locator included
        bare = Citation([CitationItem(k) for k in bib.keys])
        bare.bibliography = bib
        bib.items = bare.cites
        bib.sort()
        bibliography = {}
        for item, entry in zip(bib.items, bib.bibliography()):
            entry = str(entry)
            bibliography[item.key] = post(entry, False) if patched else entry
    msgs = sorted({str(w.message).splitlines()[0] for w in caught})
    return out, bibliography, msgs


def norm(fragment: str) -> str:
    """HTML fragment -> text keeping italics as <i>, links and spans dropped."""
    s = fragment
    s = re.sub(r"<a [^>]*class=\"footnote-back\"[^>]*>.*?</a>", "", s)
    s = re.sub(r"</?(em)>", lambda m: m.group(0).replace("em", "i"), s)
    s = re.sub(r"<(/?)(i|b)>", r"<\1\2>", s)
    s = re.sub(r"<(?!/?(i|b)>)[^>]+>", "", s)
    s = html.unescape(s)
    s = s.replace("\u00a0", " ")
    return re.sub(r"\s+", " ", s).strip()


def inner_html(el) -> str:
    s = (el.text and html.escape(el.text)) or ""
    for ch in el:
        s += lhtml.tostring(ch, encoding="unicode")
    return s


def pandoc_citations(html_file: Path) -> tuple[dict, list[str]]:
    """Per case: the rendered text of each citation, in order; and the bibliography."""
    doc = lhtml.fromstring(html_file.read_text(encoding="utf-8"))
    notes = {li.get("id"): li for li in doc.xpath("//section[@id='footnotes']//li")}
    out: dict[str, list[str]] = {}
    for p in doc.xpath("//p[not(ancestor::section[@id='footnotes'])]"):
        text = p.text_content()
        m = re.match(r"(C\d\d)\.", text)
        if not m:
            continue
        cid = m.group(1)
        for el in p.xpath(".//span[@class='citation'] | .//a[@class='footnote-ref']"):
            if el.tag == "a" and el.getparent().get("class") == "citation":
                continue
            if el.tag == "span":
                ref = el.xpath(".//a[@class='footnote-ref']")
                if ref:   # note style: the citation became a note
                    li = notes[ref[0].get("href")[1:]]
                    intext = norm(inner_html(el).split("<a href=\"#fn")[0])
                    body = norm(inner_html(li.xpath("./p")[0]))
                    out.setdefault(cid, []).append((intext + " | " if intext else "") + body)
                else:
                    out.setdefault(cid, []).append(norm(inner_html(el)))
            else:       # a written footnote: its citations, rendered inline
                li = notes[el.get("href")[1:]]
                for span in li.xpath(".//span[@class='citation']"):
                    out.setdefault(cid, []).append(norm(inner_html(span)))
    bib = {d.get("id")[4:]: norm(inner_html(d)) for d in doc.xpath("//div[@id='refs']/div")}
    order = [d.get("id")[4:] for d in doc.xpath("//div[@id='refs']/div")]
    bib = {"order": order, "entries": bib}
    assert out, html_file
    return out, bib


def main() -> None:
    cases = cases_from_ast()
    result = {"cases": [{"id": c["id"], "cites": [[{
        "key": i["citationId"], "mode": i["citationMode"]["t"],
        "prefix": stringify(i["citationPrefix"]), "suffix": stringify(i["citationSuffix"]),
        "split": split_locator(stringify(i["citationSuffix"]))} for i in cite["items"]]
        for cite in c["cites"]]} for c in cases]}
    for name, csl in [("notes", "chicago-notes-bibliography"),
                      ("notes-ibid", "chicago-notes-bibliography-subsequent-ibid"),
                      ("author-date", "chicago-author-date")]:
        cp, cp_bib, msgs = render_citeproc_py(FIX / "styles" / f"{csl}.csl", cases)
        pd, pd_bib = pandoc_citations(FIX / f"pandoc-chicago-{name}.html")
        result[name] = {"citeproc_py": {k: [norm(x) for x in v] for k, v in cp.items()},
                        "pandoc": pd,
                        "citeproc_py_bib": {"order": list(cp_bib), "entries": {k: norm(v) for k, v in cp_bib.items()}},
                        "pandoc_bib": pd_bib, "citeproc_py_warnings": msgs}
    import cpy_patches
    result["patches"] = cpy_patches.apply()
    for name, csl in [("notes", "chicago-notes-bibliography"),
                      ("notes-ibid", "chicago-notes-bibliography-subsequent-ibid"),
                      ("author-date", "chicago-author-date")]:
        cp, cp_bib, msgs = render_citeproc_py(FIX / "styles" / f"{csl}.csl", cases, patched=True)
        result[name]["patched"] = {k: [norm(x) for x in v] for k, v in cp.items()}
        result[name]["patched_bib"] = {"order": list(cp_bib), "entries": {k: norm(v) for k, v in cp_bib.items()}}
    (ROOT / "compare.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print("wrote compare.json")


if __name__ == "__main__":
    sys.exit(main())
