"""Fixtures shared by the memo tests: the three memo files of the module's ``memo`` fixture.

Each memo test module defines its own ``memo`` fixture (``write_memo``'s dict of paths); these
read the files it wrote.
"""

from __future__ import annotations

import docx
import pytest


@pytest.fixture(scope="module")
def html_text(memo) -> str:
    return memo["html"].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def md_text(memo) -> str:
    return memo["md"].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def word(memo):
    return docx.Document(str(memo["docx"]))
