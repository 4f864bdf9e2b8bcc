"""Write fixtures/cases.md and fixtures/cases.json from the case list below.

Each case is one paragraph that starts with its id; a case whose citation sits in a
written footnote carries that footnote. The order matters: positions (first,
subsequent, ibid) depend on it.
"""
import json
from pathlib import Path

FIX = Path(__file__).resolve().parent.parent / "fixtures"

# (id, form, markdown of the paragraph, footnote text or None)
CASES = [
    ("C01", "book, first citation, page", "First citation of a book, with a page [@fursenko1997, 171].", None),
    ("C02", "journal article, first citation, page (issue, season, split page range)", "First citation of a journal article [@kramer1993, 42].", None),
    ("C03", "chapter in an edited multivolume work, first citation", "First citation of a chapter in an edited volume [@hershberg2010, 70].", None),
    ("C04", "archival document (archive, archive_location), first citation, no locator", "First citation of an archival document [@protocol32].", None),
    ("C05", "book without title-short, page range written with an en dash", "A page range written with an en dash [@taubman2003, 545–547].", None),
    ("C06", "page range written with a hyphen (Chicago abbreviates 101-108 to 101–8)", "A page range written with a hyphen [@dobbs2008, 101-108].", None),
    ("C07", "two authors, 2nd edition, chap. locator", "A chapter locator [@allison1999, chap. 3].", None),
    ("C08", "sec. locator, second citation of an article", "A section locator [@kramer1993, sec. 2].", None),
    ("C09", "explicit pp. label, second citation", "An explicit page label [@fursenko1997, pp. 240–245].", None),
    ("C10", "prefix and suffix words, two items, chap. locator", "Prefixes in a bracket with two items [see @fursenko1997, 240–245; and @dobbs2008, chap. 3].", None),
    ("C11", "two items in one bracket, both first: three authors and an edited volume (eds.)", "Two first citations in one bracket [@blight1993, 33; @maytapes1997, 120].", None),
    ("C12", "author in text, subsequent", "@allison1999 [77] is cited with the authors in the text.", None),
    ("C13", "author in text, first citation of a translated, edited volume of a multivolume work", "@khrushchev2007 [45] is cited with the author in the text, first time.", None),
    ("C14", "suppress author", "Taubman says so [-@taubman2003, 560].", None),
    ("C15", "subsequent citation (short form) of a chapter", "A later citation of the chapter [@hershberg2010, 75].", None),
    ("C16", "Dobbs again, page 50 (prepares ibid)", "Dobbs, page 50 [@dobbs2008, 50].", None),
    ("C17", "immediately repeated, same locator (ibid)", "Dobbs, page 50 again [@dobbs2008, 50].", None),
    ("C18", "immediately repeated, other locator (ibid with locator)", "Dobbs, page 52 [@dobbs2008, 52].", None),
    ("C19", "immediately repeated without locator after one with a locator (subsequent, not ibid)", "Dobbs, no page [@dobbs2008].", None),
    ("C20", "citation inside a written footnote, author in text", "A written footnote that cites.[^n20]", "See @hershberg2010 [72]."),
    ("C21", "same item right after the footnote citing it (ibid across notes)", "The chapter again, same page [@hershberg2010, 72].", None),
    ("C22", "Russian title: transliteration with bracketed translation, editor only, volume", "A Russian title [@prezidium2003, 617].", None),
    ("C23", "written footnote with two bracketed citations and text", "A written footnote with two citations.[^n23]", "On the Presidium’s records, see [@protocol32; @prezidium2003, 618]."),
    ("C24", "same authors, second work, first citation", "The same authors’ other book [@fursenko2006, 448].", None),
    ("C25", "same authors, two works in one bracket (short forms must disambiguate by title)", "Both books by the same authors [@fursenko1997, 171; @fursenko2006, 448].", None),
    ("C26", "three authors, subsequent (et al.)", "Three authors again [@blight1993, 40].", None),
    ("C27", "five authors, journal article with DOI, first citation", "Five authors and a DOI [@turco1983, 1285].", None),
    ("C28", "edited volume, subsequent", "The edited volume again [@maytapes1997, 125].", None),
    ("C29", "translated work, subsequent", "The translated memoir again [@khrushchev2007, 50].", None),
    ("C30", "web page: no date, URL", "A web page with no date [@wilsonp61].", None),
    ("C31", "institutional author, volume title, 'doc.' (not a CSL locator term)", "A FRUS document [@frusvi, doc. 62].", None),
    ("C32", "same institutional author and year: author-date needs 1996a/1996b", "Two FRUS volumes of the same year [@frusvi, doc. 62; @frusxi, doc. 96].", None),
    ("C33", "note locator (560n14)", "A note on a page [@taubman2003, 560n14].", None),
    ("C34", "locator followed by a free suffix", "A locator and a suffix [@fursenko1997, 290, quoting Khrushchev].", None),
    ("C35", "second citation of the Russian title (short form)", "The Russian title again [@prezidium2003, 620].", None),
    ("C36", "archival document, subsequent", "The archival document again [@protocol32].", None),
    ("C37", "citation key missing from the bibliography", "A key that is not in the bibliography [@nosuchkey2020].", None),
]

HEADER = """---
title: Citation forms for issue 16
lang: en-US
nocite: |
  @gribkov1994
link-citations: true
reference-section-title: Bibliography
---

Each paragraph below is one case, labelled with its id; the forms are described in
cases.json. Locators are test values, not claims about the sources' pages.

"""


def main() -> None:
    body, notes, rows = [], [], []
    for cid, form, text, note in CASES:
        body.append(f"{cid}. {text}")
        if note:
            label = text.split("[^")[1].split("]")[0]
            notes.append(f"[^{label}]: {note}")
        rows.append({"id": cid, "form": form, "markdown": text, "footnote": note})
    md = HEADER + "\n\n".join(body) + "\n\n" + "\n\n".join(notes)
    md += "\n\n::: {#refs}\n:::\n"
    (FIX / "cases.md").write_text(md, encoding="utf-8")
    (FIX / "cases.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
