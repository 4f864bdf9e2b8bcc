"""How citeproc-py's own BibTeX reader and bibtexparser read the probe and refs.bib."""
import json, sys, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from citeproc.source.bibtex import BibTeX

for f in [ROOT / "scratch/probe.bib", ROOT / "fixtures/refs.bib"]:
    print("=====", f.name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            src = BibTeX(str(f), encoding="utf-8")
        except Exception as e:  # noqa
            print("citeproc-py BibTeX failed:", type(e).__name__, e)
            continue
    for w in sorted({str(w.message).splitlines()[0] for w in caught}):
        print("  warning:", w)
    for key, ref in src.items():
        if f.name == "refs.bib" and key not in ("hershberg2010", "khrushchev2007", "gribkov1994", "fursenko1997", "kramer1993", "frusvi"):
            continue
        print(" ", key, ref.type)
        for k, v in ref.items():
            if isinstance(v, list):
                v = [dict(n) for n in v]
            elif hasattr(v, "keys"):
                v = dict(v)
            print("     ", k, "=", repr(str(v)) if not isinstance(v, (list, dict)) else v)
