"""Where the tests find the repository, their fixtures and golden files."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
FIXTURES = TESTS / "fixtures"
GOLDEN = TESTS / "golden"
# A copy of /work/shared/source/protocol-61.txt, so the suite runs on a clean clone.
SOURCE_TEXT = FIXTURES / "source" / "protocol-61.txt"
