"""The build's plan: what it makes and how, decided by one pure function (``make_plan``).

Pure and fast: a table of options and manuscript sizes, and the plans they give.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from protocol_press.citedata import CITATION_FILES
from protocol_press.model import PrintOptions
from protocol_press.options import BuildOptions
from protocol_press.plan import (
    AUTO_PARALLEL_WORDS,
    BYTES_PER_WORD,
    CITATION_FORMATS,
    BuildPlan,
    ManuscriptSize,
    estimate_from_files,
    make_plan,
)

SHORT = ManuscriptSize(words=3_000, chapters=4, print_choice=PrintOptions(), name="book")
LONG = ManuscriptSize(words=AUTO_PARALLEL_WORDS, chapters=12, print_choice=PrintOptions())
PROTOCOL_CHOICE = PrintOptions(papers=("a4", "letter"), booklets=("a4",))
# The edition's citation data, written by default, last: it needs no layout.
CITATION = [".bib citation", ".ris citation", ".json citation"]


@dataclass(frozen=True)
class Case:
    name: str
    options: BuildOptions
    size: ManuscriptSize
    cores: int
    outputs: list[str]  # suffix and kind
    layouts: list[str]  # paper, marks, one pass or chunked
    jobs: int
    workers: int


def outputs_of(plan: BuildPlan) -> list[str]:
    return [f"{output.suffix} {output.kind}" for output in plan.outputs]


def layouts_of(plan: BuildPlan) -> list[str]:
    return [
        f"{layout.paper}{' marks' if layout.marks else ''}"
        f" {'chunked' if layout.chunked else 'one pass'}"
        for layout in plan.layouts
    ]


CASES = [
    Case(
        "default: the EPUB and an A4 PDF, laid out once for both",
        BuildOptions(),
        SHORT,
        2,
        [".pdf pdf", ".epub epub", *CITATION],
        ["a4 one pass"],
        1,
        1,
    ),
    Case(
        "--format epub: no PDF, but the A4 layout for the EPUB's page list",
        BuildOptions(formats=("epub",)),
        SHORT,
        2,
        [".epub epub"],
        ["a4 one pass"],
        1,
        1,
    ),
    Case(
        "--format epub,pdf: no citation data",
        BuildOptions(formats=("epub", "pdf")),
        SHORT,
        2,
        [".pdf pdf", ".epub epub"],
        ["a4 one pass"],
        1,
        1,
    ),
    Case(
        "--format cite: the citation data needs no layout and no workers",
        BuildOptions(formats=("cite",)),
        LONG,
        4,
        CITATION,
        [],
        4,
        0,
    ),
    Case(
        "--format html: nothing laid out, no workers",
        BuildOptions(formats=("html",), jobs=4),
        LONG,
        4,
        [".html web"],
        [],
        4,
        0,
    ),
    Case(
        "the manuscript's print entry: two papers and a booklet, on two workers",
        BuildOptions(),
        ManuscriptSize(3_000, 4, print_choice=PROTOCOL_CHOICE),
        4,
        [".pdf pdf", "-letter.pdf pdf", "-booklet-a4.pdf booklet", ".epub epub", *CITATION],
        ["a4 one pass", "letter one pass", "a5 one pass"],
        1,
        2,
    ),
    Case(
        "a booklet on Letter: half-Letter pages; the EPUB still needs A4",
        BuildOptions(papers=("letter",), booklets=("letter",)),
        SHORT,
        2,
        [".pdf pdf", "-booklet-letter.pdf booklet", ".epub epub", *CITATION],
        ["a4 one pass", "letter one pass", "half-letter one pass"],
        1,
        2,
    ),
    Case(
        "the command line overrides the print entry",
        BuildOptions(formats=("pdf",), papers=("letter",), booklets=(), marks=False),
        ManuscriptSize(3_000, 4, print_choice=PrintOptions(("a4", "letter"), ("a4",), True)),
        2,
        [".pdf pdf"],
        ["letter one pass"],
        1,
        1,
    ),
    Case(
        "marks: the shop proof on the first paper, in one pass even in chunks",
        BuildOptions(formats=("pdf",), marks=True, jobs=3),
        SHORT,
        4,
        [".pdf pdf", "-marks.pdf proof"],
        ["a4 chunked", "a4 marks one pass"],
        3,
        3,
    ),
    Case(
        "--jobs given: chunks on that many processes, whatever the length",
        BuildOptions(jobs=3),
        SHORT,
        2,
        [".pdf pdf", ".epub epub", *CITATION],
        ["a4 chunked"],
        3,
        3,
    ),
    Case(
        "--jobs 1: one pass even for a long book",
        BuildOptions(jobs=1),
        LONG,
        4,
        [".pdf pdf", ".epub epub", *CITATION],
        ["a4 one pass"],
        1,
        1,
    ),
    Case(
        "a long book is laid out in chunks on every core",
        BuildOptions(),
        LONG,
        4,
        [".pdf pdf", ".epub epub", *CITATION],
        ["a4 chunked"],
        4,
        4,
    ),
    Case(
        "a long book with foreign print stylesheets: one pass",
        BuildOptions(),
        ManuscriptSize(AUTO_PARALLEL_WORDS * 2, 12, own_styles=False, print_choice=PrintOptions()),
        4,
        [".pdf pdf", ".epub epub", *CITATION],
        ["a4 one pass"],
        1,
        1,
    ),
    Case(
        "one long chapter is one chunk: one pass",
        BuildOptions(),
        ManuscriptSize(AUTO_PARALLEL_WORDS * 2, 1, print_choice=PrintOptions()),
        4,
        [".pdf pdf", ".epub epub", *CITATION],
        ["a4 one pass"],
        1,
        1,
    ),
    Case(
        "one core: no workers",
        BuildOptions(papers=("a4", "letter")),
        SHORT,
        1,
        [".pdf pdf", "-letter.pdf pdf", ".epub epub", *CITATION],
        ["a4 one pass", "letter one pass"],
        1,
        0,
    ),
    Case(
        "before parsing (the estimate): the print entry may ask for more layouts",
        BuildOptions(),
        ManuscriptSize(words=3_000),
        2,
        [".pdf pdf", "-letter.pdf pdf", "-booklet-a4.pdf booklet", ".epub epub", *CITATION],
        ["a4 one pass", "letter one pass", "a5 one pass"],
        1,
        2,
    ),
    Case(
        "before parsing, a long text is taken for many chapters",
        BuildOptions(papers=("a4",), booklets=()),
        ManuscriptSize(words=AUTO_PARALLEL_WORDS),
        2,
        [".pdf pdf", ".epub epub", *CITATION],
        ["a4 chunked"],
        2,
        2,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_plan(case: Case) -> None:
    plan = make_plan(case.options, case.size, case.cores)
    assert outputs_of(plan) == case.outputs
    assert layouts_of(plan) == case.layouts
    assert (plan.jobs, plan.workers) == (case.jobs, case.workers)


def test_the_plan_says_why_each_layout_is_made() -> None:
    plan = make_plan(BuildOptions(formats=("epub", "pdf"), papers=("letter",)), SHORT, 2)
    a4, letter = plan.layouts
    assert a4.reasons("book") == ["the EPUB's page list needs the A4 page starts"]
    assert a4.printed_as == ()  # laid out for the page list only: its PDF is not written
    assert letter.reasons("book") == ["printed as book.pdf"]
    assert not letter.page_starts


def test_the_plan_in_words() -> None:
    size = ManuscriptSize(3_000, 4, print_choice=PROTOCOL_CHOICE, name="protocol-61")
    assert make_plan(BuildOptions(), size, 2).describe() == [
        "plan: 7 output(s), 3 layout(s)",
        "  protocol-61.pdf: tagged PDF reading edition on A4",
        "  protocol-61-letter.pdf: tagged PDF reading edition on Letter",
        "  protocol-61-booklet-a4.pdf: booklet on A4 sheets of two A5 pages, untagged",
        "  protocol-61.epub: EPUB 3",
        "  protocol-61.bib: the edition's citation data, BibTeX (BibLaTeX)",
        "  protocol-61.ris: the edition's citation data, RIS",
        "  protocol-61.json: the edition's citation data, CSL-JSON",
        "  layout A4, in one pass: printed as protocol-61.pdf;"
        " the EPUB's page list needs the A4 page starts",
        "  layout Letter, in one pass: printed as protocol-61-letter.pdf",
        "  layout A5, in one pass: printed as protocol-61-booklet-a4.pdf",
        "  2 worker process(es), started before parsing: each lays out whole editions, at once",
    ]


@pytest.mark.parametrize(("jobs", "needed"), [(None, 1), (3, 2), (8, 4)])
def test_workers_started_before_will_do_when_there_are_enough(
    jobs: int | None, needed: int
) -> None:
    """One worker will do for whole editions; for chunks, one per job or per core."""
    size = LONG if jobs is None else SHORT
    options = BuildOptions(jobs=jobs) if jobs is not None else BuildOptions(jobs=1)
    assert make_plan(options, size, 4 if jobs != 3 else 2).workers_needed == needed


def test_the_estimate_from_files_counts_their_bytes(tmp_path: Path) -> None:
    (tmp_path / "one.md").write_bytes(b"x" * (AUTO_PARALLEL_WORDS * BYTES_PER_WORD - 1))
    (tmp_path / "notes.txt").write_bytes(b"x" * 1000)  # not Markdown: not read
    assert estimate_from_files(tmp_path).words == AUTO_PARALLEL_WORDS - 1
    (tmp_path / "two.md").write_bytes(b"x")
    assert estimate_from_files(tmp_path).words == AUTO_PARALLEL_WORDS
    assert estimate_from_files(tmp_path / "two.md").words == 0
    assert estimate_from_files(tmp_path / "missing").words == 0


def test_a_books_words_are_counted_in_its_text_and_notes() -> None:
    """The exact size the plan is given after parsing: every word of the chapters and
    the notes (a walker that saw no node in a list of blocks once made every book
    count 0 words, so that no long book was ever laid out in chunks by default)."""
    from model_in_memory import document_of, text_source
    from protocol_press.build import book_words

    document, _ = document_of(
        text_source("# One\n\nFive words in this paragraph.[^n]\n\n[^n]: And three more.\n"),
        text_source("# Two\n\n> A quoted *line* here.\n"),
    )
    assert book_words(document) == 5 + 3 + 4  # (the headings are not counted)


def test_each_citation_file_has_its_stage_and_a_record_of_citedata() -> None:
    """The plan names the files without importing ``citedata``: the same suffixes."""
    plan = make_plan(BuildOptions(formats=("cite",)), SHORT, 2)
    assert [output.stage for output in plan.outputs] == ["cite-bib", "cite-ris", "cite-json"]
    assert list(CITATION_FORMATS) == list(CITATION_FILES)
