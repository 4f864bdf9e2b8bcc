"""protocol-press: publish a translated archival document as a print PDF and an EPUB 3."""

__version__ = "0.1.0"
