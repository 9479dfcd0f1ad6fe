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

Files are never read from a working tree: the caller gives the bytes (from git). Which files
make a component is resolve.py's; writing decomposed sources back as one file, recompose.py's.
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

from branching.metadata import recompose, xmljs
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
    PARTIAL,
    PERMSET,
    REGISTRY,
    MetadataType,
    Registry,
)
from branching.metadata.resolve import Component, Resolver, first_dot_base, folder_after

ARCHIVE_TYPES = {"application/zip", "application/x-zip-compressed", "application/jar"}
_CONTENT_TYPE = re.compile(rb"<contentType>\s*([^<\s]+)\s*</contentType>")
# A fixed date for zip entries, so that the same resource always zips to the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class ConversionError(ValueError):
    """The source cannot be converted (a static resource folder that is not an archive …)."""


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


def _relative(mdtype: MetadataType, path: str, full_name: str) -> str:
    """SDR's calculateRelativePath for the metadata format."""
    parts = path.split("/")
    if not mdtype.suffix or mdtype.in_folder or mdtype.kind in (FOLDER, BUNDLE, DIGITAL):
        index = folder_after(parts, mdtype.directory)
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


def _unwrap_keeping_namespace(document: dict[str, Any], type_name: str) -> dict[str, Any]:
    """The root element's content, its namespace first (the metadata namespace when the file
    has none)."""
    inner = document.get(type_name)
    content: dict[str, Any] = {"@_xmlns": xmljs.METADATA_NS}
    if isinstance(inner, dict):
        content.update(inner)
    return content


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
        resolver = Resolver(kept, self.package_dirs, self.registry)
        components = resolver.resolve()
        result = Conversion(components=components, unresolved=resolver.unresolved)
        labels: list[Component] = []
        label_files: list[Component] = []
        for component in components:
            kind = component.type.kind
            if kind == LABELS:
                labels.append(component)
            elif kind == DECOMPOSED:
                path, body = recompose.decomposed(component, self._read)
                result.files[path] = body
            elif kind == PERMSET:
                path, body = recompose.permission_set(component, self._read)
                result.files[path] = body
            elif kind == LABEL_FILES:
                label_files.append(component)
            elif kind == PARTIAL:
                self._external_service(component, result)
            elif component.type.name == "StaticResource":
                self._static_resource(component, result)
            else:
                self._default(component, result)
        if labels:
            path, body = recompose.custom_labels(labels, self._read)
            result.files[path] = body
        if label_files:
            path, body = recompose.decomposed_labels(label_files, self._read, self.registry)
            result.files[path] = body
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
        output = f"{mdtype.directory}/{first_dot_base(posixpath.basename(component.content))}"
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
