"""Stage 5: lay out the print editions in pages with WeasyPrint, and write their PDFs.

One pass (``engine``) or chunks in worker processes (``chunked``, ``whole``,
``workers``), the folio pass, font merging, hyphenation, the PDF's tags and text
layer, and where pages start (``pagelist``). Every access to WeasyPrint's private
parts goes through ``adapters.weasyprint``.
"""
