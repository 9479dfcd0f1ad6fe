"""Which metadata type a file belongs to: directory names and suffixes → types.

The data comes from source-deploy-retrieve's metadataRegistry.json (see `registry_data`).
Two lookups are offered because the two reference tools disagree on the details and we
reproduce each where it acts:

- `type_for_change` answers like sfdx-git-delta when it reads a `git diff` line: the file
  suffix first (unless several types share it), else the closest known directory name;
- the conversion (`convert.py`) resolves components like SDR, from the directory layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from branching.metadata.registry_data import CHILDREN, PRESETS, TYPES

META_SUFFIX = "-meta.xml"

# Kinds of type, by how their files are laid out and converted.
FILE = "file"  # one XML file: <dir>/<Name>.<suffix>-meta.xml
CONTENT = "content"  # a content file plus its -meta.xml (ApexClass: Foo.cls + Foo.cls-meta.xml)
MIXED = "mixed"  # content that may be a file or a folder (StaticResource, Document, …)
BUNDLE = "bundle"  # a folder of files (LightningComponentBundle, AuraDefinitionBundle)
DECOMPOSED = "decomposed"  # a folder of child files recomposed into one (CustomObject)
LABELS = "labels"  # one file holding many children (CustomLabels)
FOLDER = "folder"  # a folder of an in-folder type (EmailFolder, ReportFolder, …)
DIGITAL = "digital"  # a DigitalExperienceBundle and its DigitalExperience contents
PERMSET = "permset"  # a permission set decomposed into files (decomposePermissionSetBeta2)
LABEL_FILES = "labelfiles"  # one file per label (decomposeCustomLabelsBeta2)
PARTIAL = "partial"  # a -meta.xml and its schema file (decomposed external service registrations)

# sgd never trusts these suffixes alone (CustomApplication "app", CustomMetadata "md",
# EmailServicesFunction "xml"): too many unrelated files end that way.
_UNSAFE_SUFFIXES = frozenset({"app", "md", "xml"})
# sgd keeps walking down past these directories to find a more specific one.
_TYPES_WITH_SUBTYPES = frozenset({"CustomObject", "Territory2Model", "Workflow", "SharingRules"})


@dataclass(frozen=True)
class MetadataType:
    name: str
    kind: str
    directory: str
    suffix: str = ""
    strict_directory: bool = False
    in_folder: bool = False
    # For an in-folder type, its folder type; for a folder type, the type it holds.
    folder_type: str = ""
    legacy_suffix: str = ""
    # Child types (CustomField of CustomObject …)
    parent: str = ""
    unique_id: str = ""
    xml_element: str = ""
    addressable: bool = True
    children: tuple[MetadataType, ...] = field(default=(), compare=False, repr=False)

    @property
    def has_meta_file(self) -> bool:
        """A content file travels with a `-meta.xml` (sgd's `metaFile`)."""
        return self.kind in (CONTENT, MIXED) and bool(self.suffix)

    @property
    def group_element(self) -> str:
        """The element a child is written under in its parent's file (`fields`, `labels`)."""
        return self.xml_element or self.directory

    def child_for_suffix(self, suffix: str) -> MetadataType | None:
        for child in self.children:
            if suffix in (child.suffix, child.legacy_suffix):
                return child
        return None


class Registry:
    """The types `branching.metadata` can package, indexed the ways lookups need."""

    def __init__(self, presets: tuple[str, ...] = ()) -> None:
        """The registry, with the types of the given `sourceBehaviorOptions` presets replacing
        the registry's own (unknown option names are ignored, as SDR ignores them)."""
        self.presets = tuple(p for p in presets if p in PRESETS)
        rows = {row[0]: row for row in TYPES}
        child_rows: dict[str, list[tuple[str, str, str, str, str, str, bool]]] = {}
        for child_row in CHILDREN:
            child_rows.setdefault(child_row[0], []).append(child_row)
        for preset in self.presets:
            preset_types, preset_children = PRESETS[preset]
            for type_row in preset_types:
                rows[type_row[0]] = type_row
                child_rows[type_row[0]] = [c for c in preset_children if c[0] == type_row[0]]
        children: dict[str, list[MetadataType]] = {}
        for rows_of_parent in child_rows.values():
            for (
                parent,
                name,
                directory,
                suffix,
                unique_id,
                xml_element,
                addressable,
            ) in rows_of_parent:
                child = MetadataType(
                    name=name,
                    kind=FILE,
                    directory=directory,
                    suffix=suffix,
                    parent=parent,
                    unique_id=unique_id,
                    xml_element=xml_element,
                    addressable=addressable,
                    legacy_suffix="indexe" if name == "Index" else "",
                )
                children.setdefault(parent, []).append(child)
        self.types: dict[str, MetadataType] = {}
        for name, kind, directory, suffix, flags, folder, legacy in rows.values():
            self.types[name] = MetadataType(
                name=name,
                kind=kind,
                directory=directory,
                suffix=suffix,
                strict_directory="S" in flags,
                in_folder="F" in flags,
                folder_type=folder,
                legacy_suffix=legacy,
                children=tuple(children.get(name, ())),
            )

    @cached_property
    def suffix_index(self) -> dict[str, list[MetadataType]]:
        """Suffix (and legacy suffix) → top-level types, for SDR's resolution of meta files."""
        index: dict[str, list[MetadataType]] = {}
        for mdtype in self.types.values():
            for suffix in {mdtype.suffix, mdtype.legacy_suffix} - {""}:
                index.setdefault(suffix, []).append(mdtype)
        return index

    @cached_property
    def strict_folders(self) -> dict[str, MetadataType]:
        """Types resolved from their folder rather than their suffix: directory → type."""
        return {
            mdtype.directory: mdtype
            for mdtype in self.types.values()
            if mdtype.directory
            and (
                mdtype.kind in (BUNDLE, DECOMPOSED, DIGITAL, PERMSET)
                or mdtype.name in ("ExperienceBundle", "StaticResource")
            )
        }

    def __getitem__(self, name: str) -> MetadataType:
        return self.types[name]

    def __contains__(self, name: object) -> bool:
        return name in self.types

    @cached_property
    def all_types(self) -> tuple[MetadataType, ...]:
        """Top-level and child types."""
        found: list[MetadataType] = []
        for mdtype in self.types.values():
            found.append(mdtype)
            found.extend(mdtype.children)
        return tuple(found)

    @cached_property
    def _by_suffix(self) -> dict[str, MetadataType]:
        seen: dict[str, list[MetadataType]] = {}
        for mdtype in self.all_types:
            if mdtype.suffix and mdtype.kind != FOLDER:
                seen.setdefault(mdtype.suffix, []).append(mdtype)
        return {
            suffix: types[0]
            for suffix, types in seen.items()
            if len(types) == 1 and suffix not in _UNSAFE_SUFFIXES
        }

    @cached_property
    def by_directory(self) -> dict[str, MetadataType]:
        """Directory name → type (the content type when a folder type shares it)."""
        found: dict[str, MetadataType] = {}
        for mdtype in self.all_types:
            if not mdtype.directory or mdtype.kind == FOLDER:
                continue
            current = found.get(mdtype.directory)
            # Child directories (fields, listViews) never shadow a top-level type.
            if current is None or (current.parent and not mdtype.parent):
                found[mdtype.directory] = mdtype
        return found

    def type_for_change(self, path: str) -> MetadataType | None:
        """The type sfdx-git-delta gives a changed path (its MetadataRepository.get)."""
        parts = path.split("/")
        base = parts[-1].removesuffix(META_SUFFIX)
        extension = base.rsplit(".", 1)[1] if "." in base else ""
        if extension:
            found = self._by_suffix.get(extension)
            if found is not None:
                return found
        found = None
        for part in parts:
            found = self.by_directory.get(part, found)
            if found is not None and found.name not in _TYPES_WITH_SUBTYPES:
                break
        return found


REGISTRY = Registry()
_VARIANTS: dict[tuple[str, ...], Registry] = {(): REGISTRY}


def registry_for(presets: tuple[str, ...]) -> Registry:
    """The registry a project with these `sourceBehaviorOptions` is converted with."""
    key = tuple(p for p in presets if p in PRESETS)
    if key not in _VARIANTS:
        _VARIANTS[key] = Registry(key)
    return _VARIANTS[key]
