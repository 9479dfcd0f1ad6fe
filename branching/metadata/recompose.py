"""Source files that SDR decomposes, written back as the one file of the metadata format: a
decomposed object or object translation (its RecompositionFinalizer), a decomposed permission
set, decomposed labels, and every labels file of a project into one CustomLabels.

Each function takes the component(s) and a reader of source bytes, and returns the path in the
package and the bytes to write there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from branching.metadata import xmljs
from branching.metadata.collation import collation_key
from branching.metadata.registry import MetadataType, Registry
from branching.metadata.resolve import Component

Read = Callable[[str], bytes]


def decomposed(component: Component, read: Read) -> tuple[str, bytes]:
    """A decomposed object (or object translation): its own elements, then its children."""
    mdtype = component.type
    parent_xml = _unwrap(xmljs.parse(read(component.xml)), mdtype.name) if component.xml else None
    children: list[tuple[str, Any]] = []
    sortable: list[tuple[str, tuple[str, Any]]] = []
    for child_type, path in component.children:
        xml = _unwrap(xmljs.parse(read(path)), child_type.name)
        sortable.append((child_type.group_element, (_unique(xml, child_type.unique_id), xml)))
    for group, (unique, xml) in sortable:
        children.append((group, (collation_key(unique), xml)))
    body = _recompose_sorted(mdtype, parent_xml, children)
    return f"{mdtype.directory}/{component.name}.{mdtype.suffix}", body


def permission_set(component: Component, read: Read) -> tuple[str, bytes]:
    """SDR's DecomposedPermissionSetFinalizer (decomposePermissionSetBeta2): every child
    file in the order SDR walks the folder (each folder's entries sorted), then the
    parent; elements merged by name in order of first appearance, values concatenated."""
    mdtype = component.type
    paths = sorted((path for _, path in component.children), key=lambda p: p.split("/"))
    if component.xml:
        paths.append(component.xml)
    merged: dict[str, list[Any]] = {}
    for path in paths:
        content = _unwrap(xmljs.parse(read(path)), mdtype.name)
        for key, value in content.items():
            if key.startswith("@_"):
                continue
            merged.setdefault(key, []).extend(value if isinstance(value, list) else [value])
    body = xmljs.sdr_document({mdtype.name: {"@_xmlns": xmljs.METADATA_NS, **merged}})
    return f"{mdtype.directory}/{component.name}.{mdtype.suffix}", body


def decomposed_labels(
    components: list[Component], read: Read, registry: Registry
) -> tuple[str, bytes]:
    """SDR's DecomposedLabelsFinalizer (decomposeCustomLabelsBeta2): one file per label,
    written back as one CustomLabels file, labels in ICU order of their full name."""
    labels: dict[str, Any] = {}
    for component in components:
        if component.type.name != "CustomLabel" or not component.xml:
            continue
        labels[component.name] = _unwrap(xmljs.parse(read(component.xml)), "CustomLabel")
    ordered = sorted(
        (label for label in labels.values() if isinstance(label.get("fullName"), str)),
        key=lambda label: collation_key(label["fullName"]),
    )
    parent = registry.types["CustomLabels"]
    body = xmljs.sdr_document({"CustomLabels": {"@_xmlns": xmljs.METADATA_NS, "labels": ordered}})
    return f"{parent.directory}/CustomLabels.{parent.suffix}", body


def custom_labels(components: list[Component], read: Read) -> tuple[str, bytes]:
    """The labels files, in source format one CustomLabels each, as one CustomLabels."""
    mdtype = components[0].type
    child = mdtype.children[0]
    labels: list[tuple[str, Any]] = []
    # Every labels file of the project (NPSP has its own and fflib's), as SDR's
    # RecompositionFinalizer gathers the children of each into one CustomLabels.
    seen: set[str] = set()
    for component in components:
        for path in component.files:
            document = xmljs.parse(read(path))
            root = document.get(mdtype.name)
            items = root.get(child.group_element) if isinstance(root, dict) else None
            if items is None:
                continue
            for item in items if isinstance(items, list) else [items]:
                name = item.get(child.unique_id) if isinstance(item, dict) else None
                if not isinstance(name, str) or name in seen:
                    continue
                seen.add(name)
                labels.append((child.group_element, (collation_key(name), item)))
    body = _recompose_sorted(mdtype, None, labels)
    return f"{mdtype.directory}/{mdtype.name}.{mdtype.suffix}", body


def _recompose_sorted(
    parent_type: MetadataType, parent_xml: dict[str, Any] | None, children: list[tuple[str, Any]]
) -> bytes:
    content: dict[str, Any] = {"@_xmlns": xmljs.METADATA_NS}
    if parent_xml:
        content.update(parent_xml)
    groups: dict[str, list[Any]] = {}
    for group, child in children:
        groups.setdefault(group, []).append(child)
    for group in sorted(groups):
        ordered = sorted(groups[group], key=lambda pair: pair[0])
        content[group] = [xml for _, xml in ordered]
    return xmljs.sdr_document({parent_type.name: content})


def _unwrap(document: dict[str, Any], type_name: str) -> dict[str, Any]:
    inner = document.get(type_name, document)
    if not isinstance(inner, dict):
        return {}
    return {key: value for key, value in inner.items() if key != "@_xmlns"}


def _unique(document: dict[str, Any], unique_id: str) -> str:
    for key in (unique_id, "fullName", "name"):
        if key and isinstance(document.get(key), str):
            return str(document[key])
    return ""
