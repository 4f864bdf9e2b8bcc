#!/bin/sh
# Renders fixtures/cases.md with pandoc's citeproc in the three Chicago styles.
# Run from /work/notes16; PANDOC defaults to the binary of pypandoc-binary.
set -eu
PANDOC=${PANDOC:-.venv/lib/python3.11/site-packages/pypandoc/files/pandoc}
cd fixtures
for pair in notes:chicago-notes-bibliography notes-ibid:chicago-notes-bibliography-subsequent-ibid author-date:chicago-author-date; do
  name=${pair%%:*}; csl=${pair#*:}
  for fmt in html plain; do
    ext=$fmt; [ "$fmt" = plain ] && ext=txt
    "../$PANDOC" cases.md --citeproc --bibliography=refs.json --csl="styles/$csl.csl" \
      -t "$fmt" --wrap=none -o "pandoc-chicago-$name.$ext"
    # the same with the BibTeX file, to compare pandoc's two readers
    "../$PANDOC" cases.md --citeproc --bibliography=refs.bib --csl="styles/$csl.csl" \
      -t "$fmt" --wrap=none -o "bib/pandoc-chicago-$name.$ext"
  done
done
