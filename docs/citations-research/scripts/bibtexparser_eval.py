"""bibtexparser v1 (this venv) or v2 (.venv-btp2) on the probe: what a BibTeX -> CSL-JSON
converter would start from."""
import json, sys
import bibtexparser
print("bibtexparser", bibtexparser.__version__)
path = sys.argv[1]
if bibtexparser.__version__.startswith("1."):
    from bibtexparser.bparser import BibTexParser
    from bibtexparser.customization import convert_to_unicode, splitname, getnames
    def cust(rec):
        rec = convert_to_unicode(rec)
        for role in ("author", "editor", "translator"):
            if role in rec:
                rec[role] = [splitname(n.strip(), strict_mode=False) for n in rec[role].split(" and ")]
        return rec
    parser = BibTexParser(common_strings=True, customization=cust)
    with open(path, encoding="utf-8") as f:
        db = bibtexparser.load(f, parser=parser)
    for e in db.entries:
        print(json.dumps(e, ensure_ascii=False))
else:
    from bibtexparser import middlewares as m
    lib = bibtexparser.parse_file(path, append_middleware=[
        m.SeparateCoAuthors(), m.SplitNameParts(), m.MonthIntMiddleware(True),
        m.LatexDecodingMiddleware()])
    print("failed blocks:", [b.raw[:60] for b in lib.failed_blocks])
    for e in lib.entries:
        d = {"ID": e.key, "ENTRYTYPE": e.entry_type}
        for fld in e.fields:
            v = fld.value
            if hasattr(v, "__iter__") and not isinstance(v, str):
                v = [{"first": n.first, "von": n.von, "last": n.last, "jr": n.jr} if hasattr(n, "first") else str(n) for n in v]
            d[fld.key] = v
        print(json.dumps(d, ensure_ascii=False))
