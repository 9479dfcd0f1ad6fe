"""Source format → metadata format, as source-deploy-retrieve's converter writes it.

Input: source files (repository path → bytes), the package directories, `.forceignore`.
Output: the files of a Metadata API package (path inside the package → bytes), laid out and
written exactly as `sf project convert source` (SDR's MetadataConverter) would:

- `Foo.cls` + `Foo.cls-meta.xml` → `classes/Foo.cls` + `classes/Foo.cls-meta.xml`;
- one-file types lose their `-meta.xml` suffix (`tabs/Foo.tab-meta.xml` → `tabs/Foo.tab`),
  folders of in-folder types become `email/Folder-meta.xml`;
- LWC and Aura bundles, experience bundles and documents keep their folder layout;
- a static resource folder is zipped into `staticresources/Name.resource` (its contentType
  must be an archive), a single-file resource is renamed `Name.resource`;
- a decomposed object (and object translation) is recomposed into one XML file: the
  object's own elements first, then its children grouped by element (`fields`,
  `listViews`, …, groups in code-point order, members by ICU order of their full name);
- the labels file is rewritten with its labels in order of full name.

Files are never read from a working tree: the caller gives the bytes (from git).
"""

from __future__ import annotations

import bisect
import io
import posixpath
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from branching.metadata import xmljs
from branching.metadata.collation import collation_key
from branching.metadata.forceignore import ForceIgnore
from branching.metadata.registry import (
    BUNDLE,
    CONTENT,
    DECOMPOSED,
    DIGITAL,
    FOLDER,
    LABEL_FILES,
    LABELS,
    META_SUFFIX,
    MIXED,
    PARTIAL,
    PERMSET,
    REGISTRY,
    MetadataType,
    Registry,
)

ARCHIVE_TYPES = {"application/zip", "application/x-zip-compressed", "application/jar"}
_META_XML = re.compile(r"^(.+)\.(.+)-meta\.xml$")
_CONTENT_TYPE = re.compile(rb"<contentType>\s*([^<\s]+)\s*</contentType>")
# A fixed date for zip entries, so that the same resource always zips to the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class ConversionError(ValueError):
    """The source cannot be converted (a static resource folder that is not an archive …)."""


@dataclass
class Component:
    """One component found in the source files: its type, name and files."""

    type: MetadataType
    name: str
    xml: str | None = None  # its -meta.xml (or its parent XML for decomposed types)
    content: str | None = None  # a content file or folder
    files: list[str] = field(default_factory=list)  # every source file it is made of
    children: list[tuple[MetadataType, str]] = field(default_factory=list)  # (type, path)


@dataclass
class Conversion:
    files: dict[str, bytes] = field(default_factory=dict)
    components: list[Component] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # files of no known component

    def manifest_members(self) -> dict[str, set[str]]:
        """Entries SDR's own manifest of a full conversion has beyond sgd's: the container of
        the labels (`CustomLabels CustomLabels`) and each DigitalExperience of a bundle
        (`site/Name.sfdc_cms__view/home`), as SDR splits them."""
        found: dict[str, set[str]] = {}
        for component in self.components:
            if component.type.kind == LABELS:
                found.setdefault(component.type.name, set()).add(component.type.name)
            elif component.type.kind == DIGITAL and component.content:
                prefix = component.content + "/"
                for path in component.files:
                    parts = path[len(prefix) :].split("/") if path.startswith(prefix) else []
                    if len(parts) >= 3:
                        found.setdefault("DigitalExperience", set()).add(
                            f"{component.name}.{parts[0]}/{parts[1]}"
                        )
        return found


def _folder_after(parts: list[str], directory: str) -> int:
    """Index of the last `directory` part, -1 when absent."""
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] == directory:
            return index
    return -1


def _first_dot_base(name: str) -> str:
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


class _Resolver:
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
        found = self.component(mdtype, _first_dot_base(base), content=path)
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
        index = _folder_after(parts[:-1], mdtype.directory)
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


def _relative(mdtype: MetadataType, path: str, full_name: str) -> str:
    """SDR's calculateRelativePath for the metadata format."""
    parts = path.split("/")
    if not mdtype.suffix or mdtype.in_folder or mdtype.kind in (FOLDER, BUNDLE, DIGITAL):
        index = _folder_after(parts, mdtype.directory)
        return "/".join(parts[index:]) if index >= 0 else path
    return f"{mdtype.directory}/{parts[-1]}"


def _xml_destination(component: Component, xml: str) -> str:
    mdtype = component.type
    destination = _relative(mdtype, xml, component.name)
    if component.content is None:
        if mdtype.kind == FOLDER:
            return destination.replace(f".{mdtype.suffix}", "", 1)
        if destination.endswith(META_SUFFIX):
            return destination[: -len(META_SUFFIX)]
        return destination
    if mdtype.suffix:
        if mdtype.name == "Document":
            extension = posixpath.splitext(component.content)[1].lstrip(".")
            return re.sub(
                rf"\.{re.escape(mdtype.suffix)}-meta\.xml$",
                f".{extension}{META_SUFFIX}",
                destination,
            )
        return re.sub(r"(.)([a-zA-Z]+)(-meta\.xml)$", rf"\1{mdtype.suffix}\3", destination)
    return destination


def _unwrap(document: dict[str, Any], type_name: str) -> dict[str, Any]:
    inner = document.get(type_name, document)
    if not isinstance(inner, dict):
        return {}
    return {key: value for key, value in inner.items() if key != "@_xmlns"}


def _unwrap_keeping_namespace(document: dict[str, Any], type_name: str) -> dict[str, Any]:
    """The root element's content, its namespace first (the metadata namespace when the file
    has none)."""
    inner = document.get(type_name)
    content: dict[str, Any] = {"@_xmlns": xmljs.METADATA_NS}
    if isinstance(inner, dict):
        content.update(inner)
    return content


def _unique(document: dict[str, Any], unique_id: str) -> str:
    for key in (unique_id, "fullName", "name"):
        if key and isinstance(document.get(key), str):
            return str(document[key])
    return ""


class Converter:
    def __init__(
        self,
        files: Mapping[str, bytes],
        ignore: ForceIgnore | None = None,
        package_dirs: tuple[str, ...] = (),
        registry: Registry = REGISTRY,
    ) -> None:
        self.source = files
        self.package_dirs = package_dirs
        self.registry = registry
        self.kept: set[str] = set()
        self.sorted_kept: list[str] = []
        self.ignore = ignore or ForceIgnore()
        self.sdr_ignore = ForceIgnore(self.ignore.text, defaults=ForceIgnore.SDR_DEFAULTS)

    def convert(self) -> Conversion:
        kept = [path for path in self.source if not self.sdr_ignore.ignores(path)]
        self.kept = set(kept)
        self.sorted_kept = sorted(kept)
        resolver = _Resolver(kept, self.package_dirs, self.registry)
        components = resolver.resolve()
        result = Conversion(components=components, unresolved=resolver.unresolved)
        labels: list[Component] = []
        label_files: list[Component] = []
        for component in components:
            kind = component.type.kind
            if kind == LABELS:
                labels.append(component)
            elif kind == DECOMPOSED:
                self._decomposed(component, result)
            elif kind == PERMSET:
                self._permission_set(component, result)
            elif kind == LABEL_FILES:
                label_files.append(component)
            elif kind == PARTIAL:
                self._external_service(component, result)
            elif component.type.name == "StaticResource":
                self._static_resource(component, result)
            else:
                self._default(component, result)
        if labels:
            self._labels(labels, result)
        if label_files:
            self._label_files(label_files, result)
        return result

    def _read(self, path: str) -> bytes:
        return self.source[path]

    def _content_files(self, component: Component) -> list[str]:
        """The content file, or the files of the content folder (forceignore applied)."""
        content = component.content
        if content is None:
            return []
        if content in self.kept:
            return [content]
        prefix = content + "/"
        start = bisect.bisect_left(self.sorted_kept, prefix)
        found: list[str] = []
        for path in self.sorted_kept[start:]:
            if not path.startswith(prefix):
                break
            if path != component.xml:
                found.append(path)
        return found

    def _default(self, component: Component, result: Conversion) -> None:
        mdtype = component.type
        if mdtype.kind == CONTENT and component.content is None and component.xml:
            # SDR's MatchingContentSourceAdapter: "Expected source files for type …". Without
            # this the -meta.xml itself was written as the component's source (classes/Foo.cls).
            raise ConversionError(
                f"{component.xml}: {mdtype.name} {component.name} has no "
                f"{component.name}.{mdtype.suffix} beside its -meta.xml (Salesforce's converter "
                f"stops too: “Expected source files for type '{mdtype.name}'”)."
            )
        for path in self._content_files(component):
            result.files[_relative(mdtype, path, component.name)] = self._read(path)
        if component.xml:
            if mdtype.kind == BUNDLE:
                result.files[_relative(mdtype, component.xml, component.name)] = self._read(
                    component.xml
                )
            else:
                result.files[_xml_destination(component, component.xml)] = self._read(component.xml)

    def _static_resource(self, component: Component, result: Conversion) -> None:
        mdtype = component.type
        if component.xml is None or component.content is None:
            raise ConversionError(
                f"Static resource {component.name} needs both its content and "
                f"{component.name}.resource-meta.xml."
            )
        meta = self._read(component.xml)
        content_files = [p for p in self._content_files(component) if p != component.content]
        output = f"{mdtype.directory}/{_first_dot_base(posixpath.basename(component.content))}"
        if content_files:
            match = _CONTENT_TYPE.search(meta)
            content_type = match.group(1).decode() if match else ""
            if content_type not in ARCHIVE_TYPES:
                raise ConversionError(
                    f"Static resource {component.name} is a folder, so its contentType must be "
                    f"an archive (application/zip), not “{content_type}”."
                )
            result.files[f"{output}.{mdtype.suffix}"] = _zip(
                {p[len(component.content) + 1 :]: self._read(p) for p in content_files}
            )
        else:
            result.files[f"{output}.{mdtype.suffix}"] = self._read(component.content)
        result.files[f"{mdtype.directory}/{posixpath.basename(component.xml)}"] = meta

    def _decomposed(self, component: Component, result: Conversion) -> None:
        mdtype = component.type
        parent_xml = (
            _unwrap(xmljs.parse(self._read(component.xml)), mdtype.name) if component.xml else None
        )
        children: list[tuple[str, Any]] = []
        sortable: list[tuple[str, tuple[str, Any]]] = []
        for child_type, path in component.children:
            xml = _unwrap(xmljs.parse(self._read(path)), child_type.name)
            sortable.append((child_type.group_element, (_unique(xml, child_type.unique_id), xml)))
        for group, (unique, xml) in sortable:
            children.append((group, (collation_key(unique), xml)))
        body = _recompose_sorted(mdtype, parent_xml, children)
        result.files[f"{mdtype.directory}/{component.name}.{mdtype.suffix}"] = body

    def _permission_set(self, component: Component, result: Conversion) -> None:
        """SDR's DecomposedPermissionSetFinalizer (decomposePermissionSetBeta2): every child
        file in the order SDR walks the folder (each folder's entries sorted), then the
        parent; elements merged by name in order of first appearance, values concatenated."""
        mdtype = component.type
        paths = sorted((path for _, path in component.children), key=lambda p: p.split("/"))
        if component.xml:
            paths.append(component.xml)
        merged: dict[str, list[Any]] = {}
        for path in paths:
            content = _unwrap(xmljs.parse(self._read(path)), mdtype.name)
            for key, value in content.items():
                if key.startswith("@_"):
                    continue
                merged.setdefault(key, []).extend(value if isinstance(value, list) else [value])
        body = xmljs.sdr_document({mdtype.name: {"@_xmlns": xmljs.METADATA_NS, **merged}})
        result.files[f"{mdtype.directory}/{component.name}.{mdtype.suffix}"] = body

    def _external_service(self, component: Component, result: Conversion) -> None:
        """SDR's decomposed external service registration (decomposeExternalServiceRegistration
        Beta): the registration's `-meta.xml` with its schema, read from `Name.yaml` beside it,
        put back as `<schema>`: the YAML as it is, or, when the registration's
        `schemaUploadFileExtension` is `json`, as JSON (`JSON.stringify(yaml.parse(…), …, 2)`)."""
        mdtype = component.type
        if component.xml is None:
            return
        schema_path = posixpath.join(posixpath.dirname(component.xml), f"{component.name}.yaml")
        if schema_path not in self.source:
            raise ConversionError(
                f"{component.xml}: the external service registration {component.name} has no "
                f"schema file {component.name}.yaml beside it (sfdx-project.json turns on "
                f"decomposeExternalServiceRegistrationBeta, which keeps the schema there)."
            )
        content = _unwrap_keeping_namespace(xmljs.parse(self._read(component.xml)), mdtype.name)
        text = self._read(schema_path).decode("utf-8", "replace")
        if content.get("schemaUploadFileExtension") == "json":
            # Imported here: PyYAML costs about 1 MiB in every worker, and only projects with
            # this layout need it.
            from branching.metadata import yamljs

            try:
                text = yamljs.to_json(text)
            except yamljs.YamlError as error:
                raise ConversionError(f"{schema_path}: not YAML SDR can read: {error}") from error
        content["schema"] = text
        body = xmljs.sdr_document({mdtype.name: content})
        result.files[f"{mdtype.directory}/{component.name}.{mdtype.suffix}"] = body

    def _label_files(self, components: list[Component], result: Conversion) -> None:
        """SDR's DecomposedLabelsFinalizer (decomposeCustomLabelsBeta2): one file per label,
        written back as one CustomLabels file, labels in ICU order of their full name."""
        labels: dict[str, Any] = {}
        for component in components:
            if component.type.name != "CustomLabel" or not component.xml:
                continue
            labels[component.name] = _unwrap(xmljs.parse(self._read(component.xml)), "CustomLabel")
        ordered = sorted(
            (label for label in labels.values() if isinstance(label.get("fullName"), str)),
            key=lambda label: collation_key(label["fullName"]),
        )
        parent = self.registry.types["CustomLabels"]
        body = xmljs.sdr_document(
            {"CustomLabels": {"@_xmlns": xmljs.METADATA_NS, "labels": ordered}}
        )
        result.files[f"{parent.directory}/CustomLabels.{parent.suffix}"] = body

    def _labels(self, components: list[Component], result: Conversion) -> None:
        mdtype = components[0].type
        child = mdtype.children[0]
        labels: list[tuple[str, Any]] = []
        # Every labels file of the project (NPSP has its own and fflib's), as SDR's
        # RecompositionFinalizer gathers the children of each into one CustomLabels.
        seen: set[str] = set()
        for component in components:
            for path in component.files:
                document = xmljs.parse(self._read(path))
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
        result.files[f"{mdtype.directory}/{mdtype.name}.{mdtype.suffix}"] = body


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


def _zip(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def convert_source(
    files: Mapping[str, bytes],
    ignore: ForceIgnore | None = None,
    package_dirs: tuple[str, ...] = (),
    registry: Registry = REGISTRY,
) -> Conversion:
    """Convert source-format files (repository path → bytes) to metadata format; a component
    in several `package_dirs` is taken from the last one. `registry` carries the project's
    `sourceBehaviorOptions` (registry.registry_for)."""
    return Converter(files, ignore, package_dirs, registry).convert()


__all__ = ["Component", "Conversion", "ConversionError", "convert_source"]
