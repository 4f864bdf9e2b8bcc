"""Stage 5c: the web edition, one self-contained HTML page.

The same templates as the EPUB and the PDF render every part into one page;
the stylesheets are set into it and images travel as data URIs, so the file
can be mailed, put on a course site or opened from a USB stick as it is.
"""

from __future__ import annotations

from markupsafe import Markup

from ..render import Renderer
from ..styles import StyleSet


def write_web(renderer: Renderer, styles: StyleSet) -> bytes:
    """The web edition's HTML, as UTF-8 bytes."""
    css = "\n".join(path.read_text(encoding="utf-8") for path in (styles.shared, styles.web))
    # The sheets are the project's own files; still, no "</style" may end the element early.
    renderer.context.inline_css = Markup(css.replace("</", "<\\/"))
    return renderer.render_book().encode("utf-8")
