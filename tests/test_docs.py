"""The user documents are true to the checkout: every relative link (README.md, docs/*.md,
BENCHMARKS.md, CHANGELOG.md) resolves to a file, and a heading where it names one; and none cites
a path outside the repository (`../shared/...`), which users do not have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import ROOT

DOCUMENTS = [ROOT / "README.md", ROOT / "BENCHMARKS.md", ROOT / "CHANGELOG.md",
             *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _prose(path: Path) -> str:
    """The document without fenced code blocks and inline code, where brackets are code."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", path.read_text(),
                                                   flags=re.S), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def _relative_links() -> list[tuple[Path, str]]:
    return [(path, target) for path in DOCUMENTS for target in LINK.findall(_prose(path))
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


LINKS = _relative_links()


def test_the_documents_have_relative_links():
    assert len(LINKS) > 10 and {path.name for path, _ in LINKS} >= {"README.md", "training.md"}


@pytest.mark.parametrize("path, target", LINKS,
                         ids=[f"{path.name}->{target}" for path, target in LINKS])
def test_every_relative_link_resolves(path, target):
    file, _, anchor = target.partition("#")
    resolved = (path.parent / file).resolve() if file else path
    assert resolved.exists(), f"{path.relative_to(ROOT)}: {target} -> {resolved} is missing"
    assert resolved.is_relative_to(ROOT), f"{path.relative_to(ROOT)}: {target} leaves the checkout"
    if anchor and resolved.suffix == ".md":
        assert anchor in _anchors(resolved), f"{path.relative_to(ROOT)}: no heading #{anchor}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_no_document_cites_paths_outside_the_checkout(path):
    assert "../shared" not in path.read_text(), path.name
