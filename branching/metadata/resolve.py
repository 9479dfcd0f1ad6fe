"""Source files → components, grouped the way SDR's MetadataResolver groups them: each file
is given to the component it belongs to (a class and its -meta.xml, a bundle's folder, a
decomposed object's children), by its folder for the types whose folder decides, by its
`-meta.xml` suffix for the others. Files of no known component are kept apart (unresolved).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from branching.metadata.registry import (
    BUNDLE,
    CONTENT,
    DECOMPOSED,
    DIGITAL,
    FOLDER,
    LABELS,
    META_SUFFIX,
    MIXED,
    PERMSET,
    REGISTRY,
    MetadataType,
    Registry,
)

_META_XML = re.compile(r"^(.+)\.(.+)-meta\.xml$")


@dataclass
class Component:
    """One component found in the source files: its type, name and files."""

    type: MetadataType
    name: str
    xml: str | None = None  # its -meta.xml (or its parent XML for decomposed types)
    content: str | None = None  # a content file or folder
    files: list[str] = field(default_factory=list)  # every source file it is made of
    children: list[tuple[MetadataType, str]] = field(default_factory=list)  # (type, path)


def folder_after(parts: list[str], directory: str) -> int:
    """Index of the last `directory` part, -1 when absent."""
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] == directory:
            return index
    return -1


def first_dot_base(name: str) -> str:
    return name.split(".")[0]


def _type_for_meta(registry: Registry, path: str, suffix: str) -> MetadataType | None:
    """SDR: a `-meta.xml` file's type is given by its suffix (the directory disambiguates)."""
    parts = path.split("/")
    candidates = registry.suffix_index.get(suffix, [])
    if not candidates:
        return None
    in_place = [t for t in candidates if t.directory in parts[:-1]]
    if in_place:
        return in_place[0]
    loose = [t for t in candidates if not t.strict_directory]
    return loose[0] if len(loose) == 1 else None


class Resolver:
    """Groups source files into components, the way SDR's MetadataResolver does."""

    def __init__(
        self, paths: list[str], roots: tuple[str, ...] = (), registry: Registry = REGISTRY
    ) -> None:
        self.registry = registry
        self.strict = registry.strict_folders
        self.roots = tuple(root.strip("/") + "/" for root in roots)
        self.paths = sorted(paths, key=lambda path: (self._root(path), path))
        self.present = set(paths)
        self.by_folder: dict[str, list[str]] = {}
        for path in self.paths:
            self.by_folder.setdefault(posixpath.dirname(path), []).append(path)
        self.components: dict[tuple[str, str, int], Component] = {}
        self.unresolved: list[str] = []

    def _root(self, path: str) -> int:
        for index, root in enumerate(self.roots):
            if path.startswith(root):
                return index
        return len(self.roots)

    def component(
        self,
        mdtype: MetadataType,
        name: str,
        *,
        xml: str | None = None,
        content: str | None = None,
        path: str = "",
    ) -> Component:
        # A component in several package directories is converted once per directory, in
        # their order, so that the last one's files win, as in SDR (its converter writes
        # each in turn); decomposed types and labels are merged across directories.
        root = (
            -1 if mdtype.kind in (DECOMPOSED, LABELS) else self._root(path or xml or content or "")
        )
        key = (mdtype.name, name, root)
        found = self.components.get(key)
        if found is None:
            found = self.components[key] = Component(mdtype, name)
        if xml and not found.xml:
            found.xml = xml
        if content and not found.content:
            found.content = content
        return found

    def resolve(self) -> list[Component]:
        for path in self.paths:
            if not self._strict(path) and not self._by_suffix(path):
                self.unresolved.append(path)
        return list(self.components.values())

    def _strict(self, path: str) -> bool:
        parts = path.split("/")
        index = len(parts) - 2
        while index >= 0 and parts[index] not in self.strict:
            index -= 1
        if index < 0:
            return False
        mdtype = self.strict[parts[index]]
        rest = parts[index + 1 :]
        root = "/".join(parts[: index + 1])
        if mdtype.kind == BUNDLE:
            if len(rest) < 2:
                return False
            found = self.component(mdtype, rest[0], content=f"{root}/{rest[0]}")
            found.files.append(path)
            if (
                len(rest) == 2
                and rest[1] == f"{rest[0]}.js{META_SUFFIX}"
                or len(rest) == 2
                and rest[1].endswith(META_SUFFIX)
                and not found.xml
            ):
                found.xml = path
            return True
        if mdtype.kind == DIGITAL:
            # site/<Name>/…: one DigitalExperienceBundle, laid out as it is.
            if len(rest) < 3:
                return False
            name = f"{rest[0]}/{rest[1]}"
            found = self.component(mdtype, name, content=f"{root}/{name}")
            found.files.append(path)
            return True
        if mdtype.kind in (DECOMPOSED, PERMSET):
            return self._decomposed(mdtype, root, rest, path)
        return self._mixed(mdtype, root, rest, path)

    def _mixed(self, mdtype: MetadataType, root: str, rest: list[str], path: str) -> bool:
        if len(rest) > 1:  # inside a folder: the folder is the content
            name = rest[0]
            found = self.component(mdtype, name, content=f"{root}/{name}")
            found.files.append(path)
            return True
        base = rest[0]
        match = _META_XML.match(base)
        if match and (not mdtype.suffix or match.group(2) == mdtype.suffix):
            name = match.group(1)
            found = self.component(mdtype, name, xml=path)
            found.files.append(path)
            return True
        # a single content file: belongs to the -meta.xml whose name starts it
        for candidate in self.by_folder.get(root, []):
            if not candidate.endswith(META_SUFFIX):
                continue
            meta = _META_XML.match(posixpath.basename(candidate))
            if meta and base.startswith(meta.group(1) + "."):
                found = self.component(mdtype, meta.group(1), content=path)
                found.files.append(path)
                return True
        found = self.component(mdtype, first_dot_base(base), content=path)
        found.files.append(path)
        return True

    def _decomposed(self, mdtype: MetadataType, root: str, rest: list[str], path: str) -> bool:
        if len(rest) < 2:
            return False
        name = rest[0]
        base = rest[-1]
        match = _META_XML.match(base)
        if match is None:
            return False
        found = self.component(mdtype, name)
        found.files.append(path)
        if len(rest) == 2 and match.group(2) == mdtype.suffix:
            # In two folders of the project (NPSP's tdtm/ and main/default/), the parent file
            # found first is the one SDR's recomposition keeps; the children of both are merged.
            found.xml = found.xml or path
            return True
        child = mdtype.child_for_suffix(match.group(2))
        if child is None:
            return False
        found.children.append((child, path))
        return True

    def _by_suffix(self, path: str) -> bool:
        base = posixpath.basename(path)
        match = _META_XML.match(base)
        if match is None:
            return self._content_file(path)
        name, suffix = match.group(1), match.group(2)
        mdtype = _type_for_meta(self.registry, path, suffix)
        if mdtype is None:
            return False
        if mdtype.kind == LABELS:
            found = self.component(mdtype, mdtype.name, xml=path)
            found.files.append(path)
            return True
        full = self._in_folder_name(mdtype, path, name)
        found = self.component(mdtype, full, xml=path)
        found.files.append(path)
        if mdtype.kind == CONTENT or (mdtype.kind == MIXED and mdtype.in_folder):
            content = self._content_for(path, name, mdtype)
            if content:
                found.content = content
        return True

    def _in_folder_name(self, mdtype: MetadataType, path: str, name: str) -> str:
        if not (mdtype.in_folder or mdtype.kind == FOLDER):
            return name
        parts = path.split("/")
        index = folder_after(parts[:-1], mdtype.directory)
        folder = "/".join(parts[index + 1 : -1]) if index >= 0 else ""
        return f"{folder}/{name}" if folder else name

    def _content_for(self, meta_path: str, name: str, mdtype: MetadataType) -> str | None:
        directory = posixpath.dirname(meta_path)
        if mdtype.kind == CONTENT:
            candidate = posixpath.join(directory, f"{name}.{mdtype.suffix}")
            return candidate if candidate in self.present else None
        for candidate in self.by_folder.get(directory, []):
            if posixpath.basename(candidate).startswith(name + ".") and not candidate.endswith(
                META_SUFFIX
            ):
                return candidate
        return None

    def _content_file(self, path: str) -> bool:
        """A content file is taken with its -meta.xml (resolved on its own)."""
        for candidate in (f"{path}{META_SUFFIX}",):
            if candidate in self.present:
                return True
        directory = posixpath.dirname(path)
        stem = posixpath.basename(path).rsplit(".", 1)[0]
        for other in self.by_folder.get(directory, []):
            if other.endswith(META_SUFFIX):
                meta = _META_XML.match(posixpath.basename(other))
                if meta and meta.group(1) == stem:
                    return True
        return False
