"""The only code that touches what the libraries do not promise.

The build relies on a few private parts of its libraries: where WeasyPrint keeps
a page's laid-out boxes, its text, named strings and page names, the parsed HTML
tree, how it writes the PDF's XMP and how it finds its C libraries
(``weasyprint``); Pyphen's cache of parsed patterns (``pyphen``);
ebooklib's package-document writer and metadata table (``ebooklib``). Each is
used here and nowhere else, so a release that changes one breaks one small
function. ``tests/test_adapters.py`` checks that each still has the effect relied
on, naming the library and its version when it does not, and ``pyproject.toml``
bounds each library to the versions the tests pass on.

The modules import their library only inside their functions: importing an
adapter costs nothing, and WeasyPrint is imported when and how the build says.
"""
