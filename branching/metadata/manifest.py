"""package.xml and destructiveChanges.xml, written the way sfdx-git-delta writes them.

Types are sorted with CustomObject first (Salesforce deploys fields after their object only
when the object comes first) and then in ICU order, members in ICU order, four-space
indentation, `<version>` last.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from branching.metadata.collation import collated
from branching.metadata.xmljs import METADATA_NS


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sorted_types(types: Mapping[str, Set[str]]) -> list[str]:
    names = collated(types)
    if "CustomObject" in types:
        names.remove("CustomObject")
        names.insert(0, "CustomObject")
    return names


def render(types: Mapping[str, Set[str]], api_version: str) -> bytes:
    """A package.xml (or destructiveChanges.xml) listing `types` (type → member names)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<Package xmlns="{METADATA_NS}">',
    ]
    for name in sorted_types(types):
        members = types[name]
        if not members:
            continue
        lines.append("    <types>")
        lines.extend(f"        <members>{_escape(m)}</members>" for m in collated(members))
        lines.append(f"        <name>{_escape(name)}</name>")
        lines.append("    </types>")
    lines.append(f"    <version>{_escape(api_version)}</version>")
    lines.append("</Package>")
    return ("\n".join(lines) + "\n").encode()
