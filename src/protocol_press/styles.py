"""Where the stylesheets and fonts come from.

The tool's default styles are the repository's ``styles/`` folder, which the
wheel carries inside the package. A project may have a ``styles/`` folder of
its own: a file there with the same name as a default one replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from .diagnostics import ToolError

SHARED_CSS = "shared.css"
PRINT_CSS = "print.css"
EBOOK_CSS = "ebook.css"
WEB_CSS = "web.css"


def default_styles_dir() -> Path:
    """The default styles: inside the installed package, or the checkout's ``styles/``."""
    packaged = Path(str(files("protocol_press") / "styles"))
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "styles"
    if checkout.is_dir():  # an editable install runs from the source tree
        return checkout
    raise ToolError(
        "the default styles are missing from the installation", "reinstall protocol-press"
    )


@dataclass(frozen=True, slots=True)
class StyleSet:
    """The stylesheets one build uses, each a file on disk.

    The project's ``styles/`` lies over the default one: a stylesheet or a font
    the project does not have is taken from the defaults.
    """

    shared: Path
    print: Path
    ebook: Path
    web: Path
    default_dir: Path
    project_dir: Path | None = None

    @property
    def folders(self) -> tuple[Path, ...]:
        """Every folder a stylesheet may load fonts or images from."""
        found = {self.default_dir.resolve()}
        if self.project_dir is not None:
            found.add(self.project_dir.resolve())
        return tuple(sorted(found))

    @property
    def tools_own_print(self) -> bool:
        """Whether the print and shared stylesheets are the tool's own, whose pages the
        chunked layout is proven to reproduce (every part starts a page, left and right
        pages have the same margins): the condition for laying out in chunks."""
        return self.print.parent == self.shared.parent == self.default_dir

    def locate(self, path: Path) -> Path:
        """The file a stylesheet means: the project's own, else the default of that name."""
        if self.project_dir is None or path.exists():
            return path
        try:
            relative = path.resolve().relative_to(self.project_dir.resolve())
        except ValueError:
            return path
        return self.default_dir / relative


def resolve_styles(project_styles: Path | None) -> StyleSet:
    """The default stylesheets, each replaced by the project's file of the same name."""
    defaults = default_styles_dir()

    def pick(name: str) -> Path:
        if project_styles is not None and (project_styles / name).is_file():
            return project_styles / name
        return defaults / name

    return StyleSet(
        pick(SHARED_CSS), pick(PRINT_CSS), pick(EBOOK_CSS), pick(WEB_CSS), defaults, project_styles
    )
