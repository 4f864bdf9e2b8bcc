"""Stage 5c: the web edition, one self-contained HTML page.

The same templates as the EPUB and the PDF render every part into one page;
the stylesheets are set into it and images travel as data URIs, so the file
can be mailed, put on a course site or opened from a USB stick as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from . import WriteContext


@dataclass(frozen=True, slots=True)
class WebWriter:
    suffix: str = ".html"

    def write(self, context: WriteContext) -> bytes:
        """The web edition's HTML, as UTF-8 bytes."""
        styles = context.publication.styles
        css = "\n".join(path.read_text(encoding="utf-8") for path in (styles.shared, styles.web))
        # The sheets are the project's own files; still, no "</style" may end the element early.
        inline_css = Markup(css.replace("</", "<\\/"))
        renderer = context.publication.renderer("html").variant(inline_css=inline_css)
        return renderer.render_book().encode("utf-8")
