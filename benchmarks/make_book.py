"""Write a synthetic book-length manuscript for the benchmarks, the same every time.

One Pandoc-style Markdown file (a YAML metadata block, then the text; each
level-1 heading is a chapter), as protocol-press and pandoc both read it. The
default book has 40 chapters and about 150,000 words with 1,500 notes; each
chapter has sections (some with subsections), block quotations, bulleted and
numbered lists, pipe tables, emphasis, dashes, quotes, a few Russian words in
language spans and a few inline notes. The prose is made from word lists by a
small grammar, so sentences vary in length and shape (it reads like an archival
history, though it says nothing).

Each chapter is drawn from its own random generator (seeded from ``--seed`` and
its number), so ``--double`` (80 chapters, about 300,000 words, 3,000 notes)
begins with the same 40 chapters as the single book, and ``--change N`` alters
chapter N only: its first paragraph gets one sentence more (``--revision``
makes successive edits differ)::

    python3 benchmarks/make_book.py                          # benchmarks/out/book.md
    python3 benchmarks/make_book.py --double --out book2.md  # the doubled book
    python3 benchmarks/make_book.py --change 17 --out book-edited.md
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SEED = 61
CHAPTERS = 40
NOTES_PER_CHAPTER = 37.5  # 1,500 notes in 40 chapters
WORDS_PER_CHAPTER = 3_750  # 150,000 words in 40 chapters, notes included
NOTE_WORDS = 800  # about the words of a chapter's 37 notes

TABLE_PLACEMENTS = ("chapter-start", "anywhere")

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out" / "book.md"

# --------------------------------------------------------------- word lists


def words(text: str) -> list[str]:
    return text.split()


NOUNS = words("""
archive committee ministry delegation harvest railway factory plan report
directive resolution session council commission secretary minister deputy
instructor inspector trust district province region village town garrison
border frontier treaty agreement proposal question dispute shortage surplus
quota decree order telegram letter memorandum draft minute protocol record
budget ledger census survey campaign reform policy doctrine principle
congress plenum bureau department section office apparatus machinery
newspaper editorial speech lecture broadcast rumour complaint petition
grievance appeal verdict trial sentence amnesty exile return settlement
harbour port canal bridge road station depot warehouse mine foundry mill
workshop brigade cooperative collective farm estate parish school academy
institute library museum theatre hospital clinic barracks fleet squadron
regiment division army navy airfield missile reactor laboratory delivery
shipment cargo convoy blockade quarantine crisis compromise concession
guarantee pledge threat warning ultimatum delay postponement silence
""")

PLACES = words("""
Kharkov Sverdlovsk Riga Tashkent Odessa Kiev Minsk Tbilisi Baku Murmansk
Arkhangelsk Novosibirsk Omsk Tomsk Irkutsk Kazan Gorky Kuibyshev Saratov
Voronezh Rostov Krasnodar Sevastopol Lvov Vilnius Tallinn Alma-Ata Frunze
Havana Matanzas Mariel Santiago Berlin Warsaw Prague Budapest Sofia Bucharest
""")

SURNAMES = words("""
Abramov Belov Volkov Gusev Danilov Yegorov Zhukov Zaitsev Ivanov Karpov
Lebedev Makarov Nikitin Orlov Pavlov Romanov Sokolov Tarasov Ushakov Fomin
Kharitonov Tsvetkov Chernov Sharov Shchukin Yakovlev Antonova Borisova
Vasilieva Grigorieva Dmitrieva Kovalenko Lysenko Melnik Petrenko Shevchenko
Aliev Gasanov Kuliev Mamedov Beridze Kapanadze Ozols Kalnins Tamm Saar
""")

ADJECTIVES = words("""
local regional central provincial urgent confidential secret routine partial
complete modest considerable serious minor major official unofficial formal
informal early late former later previous subsequent decisive tentative
cautious reluctant hasty careful vague precise detailed brief lengthy
written oral private public military civilian economic political technical
administrative financial agricultural industrial foreign domestic northern
southern eastern western rural urban annual quarterly monthly weekly new old
small large heavy light difficult easy uncertain familiar unusual ordinary
""")

VERBS = words("""
approved rejected drafted revised signed sent received forwarded copied filed
discussed examined questioned postponed delayed ordered cancelled reduced
increased doubled halved inspected visited reported described recorded noted
summarised translated published withheld concealed disclosed defended
criticised praised blamed replaced dismissed appointed promoted transferred
supplied delivered shipped loaded unloaded stored counted measured estimated
""")

SAY_VERBS = words("""
argued claimed insisted noted remarked conceded admitted suggested warned
feared doubted assumed believed suspected recalled reported complained
""")

INTRANSITIVE = words("""
hesitated waited prevailed collapsed recovered improved worsened stalled
resumed continued ended began arrived departed returned withdrew advanced
retreated agreed objected resigned protested intervened
""")

ADVERBS = words("""
quickly slowly quietly openly firmly cautiously reluctantly promptly
eventually gradually repeatedly briefly formally privately publicly
""")

PREPOSITIONS = words("in at near beyond behind before after during without against")
CONNECTIVES = ["but", "and", "while", "although", "because", "since", "so that", "until"]
OPENERS = [
    "In the event",
    "At first",
    "For a time",
    "By then",
    "As a rule",
    "In practice",
    "On paper",
    "Before long",
    "Even so",
    "Nevertheless",
    "In the meantime",
    "Within a year",
    "Later that month",
    "For the most part",
]
MONTHS = words("""January February March April May June July August September October
November December""")
RUSSIAN = ["Президиум", "постановление", "протокол", "совещание", "колхоз", "обком",
           "Госплан", "спецхран", "распоряжение", "докладная записка"]  # fmt: skip
PUBLISHERS = ["Moscow", "Leningrad", "London", "New Haven", "Cambridge, Mass.", "Oxford",
              "Stanford", "Ithaca", "Princeton", "Washington, D.C."]  # fmt: skip
SEASONS = ["spring", "summer", "autumn", "winter"]
INVARIABLE = {"apparatus", "machinery", "census", "surplus", "barracks"}
ARCHIVES = ["RGANI", "RGASPI", "GARF", "RGAE", "TsDAHO", "LVVA"]


@dataclass
class Writer:
    """Draws the prose of one chapter from its own random generator."""

    rng: random.Random
    chapter: int
    notes: list[str] = field(default_factory=list)

    # ---------------------------------------------------------- words

    def pick(self, words: list[str]) -> str:
        return self.rng.choice(words)

    def year(self) -> int:
        return self.rng.randint(1921, 1964)

    def date(self) -> str:
        """A date with its preposition: on 3 May 1950, in May 1950, in the spring of 1950."""
        form = self.rng.random()
        if form < 0.4:
            return f"on {self.rng.randint(1, 28)} {self.pick(MONTHS)} {self.year()}"
        if form < 0.8:
            return f"in {self.pick(MONTHS)} {self.year()}"
        return f"in the {self.pick(SEASONS)} of {self.year()}"

    def person(self) -> str:
        initials = " ".join(f"{chr(self.rng.randint(65, 90))}." for _ in range(2))
        return f"{initials} {self.pick(SURNAMES)}"

    def noun_phrase(self) -> tuple[str, bool]:
        """A noun phrase, and whether it is plural."""
        roll = self.rng.random()
        if roll < 0.12:
            return self.person(), False
        if roll < 0.2:
            return f"the {self.pick(PLACES)} {self.pick(NOUNS)}", False
        adjective = f"{self.pick(ADJECTIVES)} " if self.rng.random() < 0.55 else ""
        noun = self.pick(NOUNS)
        plural = noun not in INVARIABLE and self.rng.random() < 0.25
        if plural:
            noun = plural_of(noun)
            det = self.pick(["the", "several", "most", "some", "the other", "two"])
        else:
            det = self.pick(["the", "the", "a", "this", "that", "every", "another"])
            if det == "a" and (adjective or noun)[0] in "aeiou":
                det = "an"
        phrase = f"{det} {adjective}{noun}"
        if self.rng.random() < 0.2:
            phrase += f" of the {self.pick(NOUNS)}"
        return phrase, plural

    def np(self) -> str:
        return self.noun_phrase()[0]

    def prepositional(self) -> str:
        roll = self.rng.random()
        if roll < 0.3:
            return self.date()
        if roll < 0.45:
            return f"in {self.pick(PLACES)}"
        return f"{self.pick(PREPOSITIONS)} {self.np()}"

    def clause(self, depth: int = 0) -> str:
        subject, plural = self.noun_phrase()
        roll = self.rng.random()
        if roll < 0.45:
            predicate = f"{self.pick(VERBS)} {self.np()}"
        elif roll < 0.65 and depth < 2:
            predicate = f"{self.pick(SAY_VERBS)} that {self.clause(depth + 1)}"
        elif roll < 0.85:
            predicate = self.pick(INTRANSITIVE)
        else:
            be = "were" if plural else "was"
            predicate = (
                f"{be} {self.pick(['', 'not ', 'hardly ', 'still '])}{self.pick(ADJECTIVES)}"
            )
        if self.rng.random() < 0.3:
            predicate = f"{self.pick(ADVERBS)} {predicate}"
        for _ in range(self.rng.choice([0, 0, 1, 1, 2])):
            predicate += f" {self.prepositional()}"
        return f"{subject} {predicate}"

    def sentence(self) -> str:
        shape = self.rng.random()
        if shape < 0.12:  # short
            words = self.clause(depth=2)
        elif shape < 0.3:
            words = f"{self.pick(OPENERS)}, {self.clause()}"
        elif shape < 0.55:
            words = f"{self.clause()}, {self.pick(CONNECTIVES)} {self.clause()}"
        elif shape < 0.65:
            words = f"{self.clause()} --- {self.clause(depth=2)} --- and {self.clause(depth=2)}"
        elif shape < 0.72:
            quoted = self.clause(depth=1)
            words = f'{self.person()} wrote that "{quoted[0].upper()}{quoted[1:]}"'
        elif shape < 0.76:
            words = f"{self.clause()}; the {self.pick(NOUNS)} was *{self.pick(ADJECTIVES)}*"
        elif shape < 0.79:
            ru = self.pick(RUSSIAN)
            words = f"{self.clause()}, as the [{ru}]{{lang=ru}} of {self.year()} put it"
        elif shape < 0.81:
            words = f"{self.clause()} between {self.year()} and {self.rng.randint(1965, 1991)}"
        else:
            words = f"{self.clause()}, {self.pick(CONNECTIVES)} {self.clause(1)}, {self.clause(2)}"
        end = "?" if self.rng.random() < 0.03 else "."
        words = words.replace("  ", " ").strip()
        return f"{words[0].upper()}{words[1:]}{end}"

    # ------------------------------------------------------------- notes

    def note_text(self, inline: bool = False) -> str:
        """A citation, an archival reference or a comment (only a note written at the
        chapter's end may have a second paragraph; an inline note has one)."""
        roll = self.rng.random()
        page = self.rng.randint(3, 480)
        if roll < 0.35:
            title = self.title().replace("*", "")
            city = self.pick(PUBLISHERS)
            return f"{self.person()}, *{title}* ({city}, {self.year() + 30}), p. {page}."
        if roll < 0.6:
            archive = self.pick(ARCHIVES)
            fond, opis, delo = (self.rng.randint(1, 9000) for _ in range(3))
            return f"{archive}, f. {fond}, op. {opis}, d. {delo}, l. {page}."
        if roll < 0.8:
            return f"Ibid., pp. {page}--{page + self.rng.randint(1, 12)}; see also {self.person()}."
        body = " ".join(self.sentence() for _ in range(self.rng.randint(1, 3)))
        if not inline and self.rng.random() < 0.3:
            more = " ".join(self.sentence() for _ in range(self.rng.randint(1, 2)))
            body += f"\n\n    {more}"
        return body

    def reference(self) -> str:
        """A note reference, its definition kept for the chapter's end (a few are inline)."""
        if self.rng.random() < 0.05:
            return f"^[{self.note_text(inline=True)}]"
        self.notes.append(self.note_text())
        return f"[^c{self.chapter:02d}n{len(self.notes):02d}]"

    # ------------------------------------------------------------ blocks

    def paragraph(self) -> list[str]:
        """A paragraph's sentences (its notes are placed when the chapter is done)."""
        return [self.sentence() for _ in range(self.rng.choice([2, 3, 4, 5, 5, 6, 7, 9]))]

    def quotation(self) -> str:
        text = " ".join(self.sentence() for _ in range(self.rng.randint(2, 5)))
        lines = [f"> {text}"]
        if self.rng.random() < 0.5:
            lines += [">", f"> --- {self.person()}, {self.date().split(' ', 1)[1]}"]
        return "\n".join(lines)

    def item_list(self) -> str:
        ordered = self.rng.random() < 0.4
        items = []
        for number in range(1, self.rng.randint(3, 7) + 1):
            text = self.sentence() if self.rng.random() < 0.6 else self.clause(depth=2) + ";"
            items.append(f"{number}. {text}" if ordered else f"- {text}")
        return "\n".join(items)

    def table(self) -> str:
        columns = self.rng.randint(3, 5)
        years = sorted(self.rng.sample(range(1946, 1964), columns - 1))
        subject = self.pick(NOUNS)
        caption = f"Table: {subject.capitalize()} by region, {years[0]}--{years[-1]}"
        head = "| Region | " + " | ".join(str(y) for y in years) + " |"
        rule = "| --- | " + " | ".join("---:" for _ in years) + " |"
        rows = [
            f"| {place} | " + " | ".join(f"{self.rng.randint(10, 9999):,}" for _ in years) + " |"
            for place in self.rng.sample(PLACES, self.rng.randint(4, 9))
        ]
        return "\n".join([head, rule, *rows, "", caption])

    def title(self) -> str:
        shape = self.rng.random()
        adjective, noun = self.pick(ADJECTIVES).capitalize(), self.pick(NOUNS).capitalize()
        if shape < 0.35:
            return f"The {adjective} {noun}"
        if shape < 0.6:
            return f"{noun} and {self.pick(NOUNS).capitalize()}"
        if shape < 0.8:
            return f"{self.pick(PLACES)}, {self.year()}"
        return f"A {adjective} {noun} in {self.pick(PLACES)}"


def notes_in(number: int) -> int:
    """How many notes chapter ``number`` has: 37 or 38, so 40 chapters have 1,500."""
    return int(number * NOTES_PER_CHAPTER) - int((number - 1) * NOTES_PER_CHAPTER)


def make_chapter(seed: int, number: int, revision: int = 0, tables: str = "anywhere") -> str:
    """One chapter: a title, sections of paragraphs and other blocks, then its notes.

    ``tables="anywhere"`` leaves each table where it was drawn; ``"chapter-start"``
    (the default) puts the chapter's first table after its opening paragraph, at the
    top of the chapter's first page, and leaves out the others: protocol-press
    0.1.0 stops with "page start N is past the end of the block" on a table that
    breaks across pages (its repeated header row), see benchmarks/README.md.

    With ``revision`` > 0 the chapter is the same but for its first paragraph,
    which opens with one sentence more, marked with the revision's number (as an
    editor's edit would; each revision's sentence differs).
    """
    writer = Writer(random.Random(seed * 1_000 + number), number)
    rng = writer.rng
    blocks: list[str | list[str]] = [
        f"# {writer.title()} {{#chapter-{number:02d}}}",
        writer.paragraph(),
    ]
    held: list[str] = []
    words = 0
    while words < WORDS_PER_CHAPTER - NOTE_WORDS:
        blocks.append(f"## {writer.title()}")
        for block in range(rng.randint(4, 9)):
            if words >= WORDS_PER_CHAPTER - NOTE_WORDS:
                break
            if block and rng.random() < 0.15:
                blocks.append(f"### {writer.title()}")
            roll = rng.random()
            if roll < 0.06:
                blocks.append(writer.quotation())
            elif roll < 0.1:
                blocks.append(writer.item_list())
            elif roll < 0.125:
                held.append(writer.table())
                if tables == "anywhere":
                    blocks.append(held[-1])
            blocks.append(writer.paragraph())
            words = sum(len(" ".join(b).split() if isinstance(b, list) else b.split())
                        for b in blocks)  # fmt: skip
    if tables == "chapter-start" and held:
        blocks.insert(2, held[0])
    # The notes go at sentence ends chosen at random, in reading order.
    sites = [(b, s) for b, block in enumerate(blocks) if isinstance(block, list)
             for s in range(len(block))]  # fmt: skip
    for b, s in sorted(rng.sample(sites, notes_in(number))):
        paragraph = blocks[b]
        assert isinstance(paragraph, list)
        paragraph[s] += writer.reference()
    if revision:
        first = blocks[1]
        assert isinstance(first, list)
        edited = Writer(random.Random(seed * 7_919 + number * 31 + revision), number)
        added = edited.sentence()
        first.insert(0, f"{added[:-1]} (revision {revision}){added[-1]}")
    text = [" ".join(b) if isinstance(b, list) else b for b in blocks]
    text += [f"[^c{number:02d}n{index:02d}]: {note}" for index, note in
             enumerate(writer.notes, start=1)]  # fmt: skip
    return "\n\n".join(text) + "\n"


def plural_of(noun: str) -> str:
    if noun.endswith("is"):
        return noun[:-2] + "es"
    if noun.endswith(("s", "sh", "ch", "x")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def metadata(chapters: int, seed: int) -> str:
    return f"""---
# Generated by benchmarks/make_book.py (seed {seed}, {chapters} chapters): a synthetic
# book for the benchmarks. Its prose is made by a small grammar and says nothing.
title: "A Synthetic History of Committees"
subtitle: "Benchmark manuscript, {chapters} chapters"
lang: en
date: 2026-01-01
identifier: urn:uuid:00000000-0000-4000-8000-{seed:012d}
creator:
  - role: aut
    text: The protocol-press benchmarks
description: >-
  A book-length manuscript drawn from word lists with a fixed seed, to time
  protocol-press against pandoc.
---
"""


def make_book(
    chapters: int = CHAPTERS,
    seed: int = SEED,
    changed: dict[int, int] | None = None,
    tables: str = "anywhere",
) -> str:
    """The whole manuscript; ``changed`` maps a chapter's number to its revision."""
    changed = changed or {}
    parts = [metadata(chapters, seed)]
    parts += [make_chapter(seed, n, changed.get(n, 0), tables) for n in range(1, chapters + 1)]
    return "\n".join(parts)


def statistics(text: str) -> dict[str, int]:
    body = text.split("\n---\n", 1)[1]
    return {
        "words": len(body.split()),
        "chapters": len(re.findall(r"^# ", body, re.MULTILINE)),
        "sections": len(re.findall(r"^## ", body, re.MULTILINE)),
        "notes": len(re.findall(r"^\[\^[^\]]+\]:", body, re.MULTILINE)) + body.count("^["),
        "quotations": len(re.findall(r"^> [^-]", body, re.MULTILINE)),
        "lists": len(re.findall(r"\n\n(?:- |1\. )", body)),
        "tables": len(re.findall(r"^\| Region", body, re.MULTILINE)),
    }


def main(argv: list[str] | None = None, write: Callable[[str], object] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=SEED, help="default: %(default)s")
    parser.add_argument("--chapters", type=int, default=CHAPTERS, help="default: %(default)s")
    parser.add_argument("--double", action="store_true", help="twice the chapters (80)")
    parser.add_argument("--change", type=int, metavar="N", help="alter chapter N only")
    parser.add_argument("--revision", type=int, default=1, help="which edit of --change")
    parser.add_argument(
        "--tables",
        choices=TABLE_PLACEMENTS,
        default="anywhere",
        help="where tables go: anywhere (default), or only at a chapter's start",
    )
    args = parser.parse_args(argv)
    chapters = args.chapters * (2 if args.double else 1)
    if args.change is not None and not 1 <= args.change <= chapters:
        parser.error(f"--change must be a chapter from 1 to {chapters}")
    changed = {args.change: args.revision} if args.change else {}
    text = make_book(chapters, args.seed, changed, args.tables)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    stats = ", ".join(f"{v:,} {k}" for k, v in statistics(text).items())
    write(f"wrote {args.out}: {stats}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
