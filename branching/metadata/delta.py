"""What changed between two commits, in Salesforce terms (sfdx-git-delta's rules).

`delta()` turns a git diff into the components to deploy (package.xml), the components to
delete (destructiveChanges.xml) and the source files that must travel with them, following
sfdx-git-delta (sgd, lib/service/*Handler.js) closely enough to agree with it member for
member:

- a change to any file of a bundle (LWC, Aura, a folder static resource, an experience
  bundle) deploys the whole bundle; deleting one of its files while others remain is a change;
- a changed field is the CustomField member `Obj__c.Field__c`; its object is recomposed with
  just that field (and the object's own definition when the field is a master-detail, which
  Salesforce needs); a changed object definition brings its master-detail fields along;
- a profile, a translation or the labels file deploys only the elements that changed (a
  pruned copy), labels being listed one by one as CustomLabel members;
- a deleted component goes to destructiveChanges, unless it is also deployed (a rename that
  only changed case, a move between package directories); record types are never deleted
  (the Metadata API cannot);
- paths outside the package directories and paths matched by `.forceignore` are left out.

Why copy sgd's quirks (a deleted file whose name matches an added one anywhere is treated as
a move; a template folder's change copies its templates): teams compare our packages with the
one sgd makes in their CI, and a difference must mean a bug, not a style.
"""

from __future__ import annotations

from collections.abc import Callable

from dulwich.repo import Repo

from branching.metadata import xmljs
from branching.metadata.forceignore import ForceIgnore
from branching.metadata.gitread import (
    ADDED,
    DELETED,
    MODIFIED,
    FileChange,
    changed_files,
)
from branching.metadata.handlers import (
    DECOMPOSED_ESR,
    SGD_IN_RESOURCE,
    Bot,
    CustomField,
    CustomObject,
    ExternalService,
    Flow,
    InBundle,
    InFolder,
    ObjectChild,
    ObjectTranslation,
    ReportingFolder,
    Resource,
    Standard,
)
from branching.metadata.infile_handlers import (
    IN_FILE_CONTAINERS,
    IN_FILE_PRUNE_ONLY,
    SGD_DECOMPOSED_DIRECTORIES,
    ContainedDecomposed,
    CustomLabels,
    Decomposed,
    InFile,
)
from branching.metadata.registry import BUNDLE, MIXED, REGISTRY, MetadataType
from branching.metadata.work import Delta, Work, base_name, stem, strip_meta

# Types whose fully qualified name (for spotting moves) includes their parent folders.
_COMPOSED = {
    "CustomObject",
    "CustomObjectTranslation",
    "PermissionSet",
    "Workflow",
    "SharingRules",
    "BusinessProcess",
    "CompactLayout",
    "CustomField",
    "FieldSet",
    "Index",
    "ListView",
    "RecordType",
    "SharingReason",
    "ValidationRule",
    "WebLink",
}

_Handler = Callable[[Work, str, str, MetadataType], Standard]


def _handler_for(
    mdtype: MetadataType, presets: tuple[str, ...] = ()
) -> tuple[_Handler, MetadataType]:
    if mdtype.name == "ExternalServiceRegistration" and DECOMPOSED_ESR in presets:
        return ExternalService, mdtype
    if mdtype.parent == "CustomObjectTranslation":
        return ObjectTranslation, REGISTRY["CustomObjectTranslation"]
    if mdtype.parent == "CustomLabels" or mdtype.name == "CustomLabels":
        return CustomLabels, REGISTRY["CustomLabels"]
    if mdtype.name == "CustomField":
        return CustomField, mdtype
    if mdtype.parent == "CustomObject":
        return ObjectChild, mdtype
    handlers: dict[str, _Handler] = {
        "CustomObject": CustomObject,
        "CustomObjectTranslation": ObjectTranslation,
        "Flow": Flow,
        "Profile": InFile,
        "Translations": InFile,
        "EmailTemplate": InFolder,
        "Document": InFolder,
        "Report": ReportingFolder,
        "Dashboard": ReportingFolder,
    }
    if mdtype.name in handlers:
        return handlers[mdtype.name], mdtype
    if mdtype.name in IN_FILE_CONTAINERS or mdtype.name in IN_FILE_PRUNE_ONLY:
        return InFile, mdtype
    if mdtype.name == "PermissionSet" or mdtype.parent == "PermissionSet":
        return ContainedDecomposed, REGISTRY["PermissionSet"]
    if mdtype.name in SGD_DECOMPOSED_DIRECTORIES:
        return Decomposed, mdtype
    if mdtype.name == "Bot" or mdtype.parent == "Bot":
        return Bot, REGISTRY["Bot"]
    if mdtype.name == "DigitalExperienceBundle" or mdtype.parent == "DigitalExperienceBundle":
        return InBundle, REGISTRY["DigitalExperienceBundle"]
    if mdtype.name in SGD_IN_RESOURCE:
        return Resource, mdtype
    if mdtype.kind in (BUNDLE, MIXED):
        return Resource, mdtype
    return Standard, mdtype


_TRANSLATION = ".translation"


def _flow_translations(work: Work, package_dirs: list[str]) -> None:
    """sgd's FlowTranslationProcessor: when flows are deployed, every translation file (at
    `to`, not ignored) holding one of their `flowDefinitions` is deployed too (`Translations
    fr`), written with only those definitions, unless the translation already travels as a
    pruned copy of its own change (sgd writes a file once)."""
    flows = work.delta.package.get("Flow")
    if not flows:
        return
    for directory in package_dirs:
        for path in work.files_under(directory.strip("/")):
            if not strip_meta(path).endswith(_TRANSLATION) or work.ignore.ignores(path):
                continue
            content = work.read(path)
            document = xmljs.parse(content, xmljs.SGD) if content else {}
            root = document.get("Translations")
            found = root.get("flowDefinitions") if isinstance(root, dict) else None
            definitions = [
                definition
                for definition in (found if isinstance(found, list) else [found])
                if isinstance(definition, dict) and definition.get("fullName") in flows
            ]
            if not definitions:
                continue
            work.add(work.delta.package, "Translations", stem(base_name(strip_meta(path))))
            if path in work.delta.files:  # a full package: the translation goes whole
                continue
            written = {
                "?xml": {"@_version": "1.0", "@_encoding": "UTF-8"},
                "Translations": {"@_xmlns": xmljs.METADATA_NS, "flowDefinitions": definitions},
            }
            work.write(path, xmljs.sgd_document(written))


def _qualified_name(path: str, mdtype: MetadataType) -> str:
    """sgd's getFullyQualifiedName: how a delete and an add are recognised as a move."""
    if mdtype.name in _COMPOSED or mdtype.parent in ("CustomObject", "CustomObjectTranslation"):
        for part in path.split("/"):
            if part in REGISTRY.by_directory:
                return path[path.index(part) :].replace("/", "")
    return base_name(path)


def compute_delta(
    repo: Repo,
    from_commit: str | None,
    to_commit: str,
    package_dirs: list[str],
    ignore: ForceIgnore | None = None,
    presets: tuple[str, ...] = (),
) -> Delta:
    """The delta between two commits (ids; None for the empty tree) in `package_dirs`;
    `presets` are the project's `sourceBehaviorOptions` (SDR's decomposed layouts)."""
    ignore = ignore or ForceIgnore()
    work = Work(repo, from_commit, to_commit, ignore)
    changes = changed_files(repo, from_commit, to_commit, package_dirs)
    typed: list[tuple[FileChange, MetadataType]] = []
    for change in changes:
        mdtype = REGISTRY.type_for_change(change.path)
        if mdtype is None:
            work.delta.ignored.append(change.path)
            continue
        typed.append((change, mdtype))
    types = dict((c.path, t) for c, t in typed)
    added_names = {
        (_qualified_name(c.path, types[c.path]) if c.path in types else base_name(c.path)).lower()
        for c in changes
        if c.status == ADDED
    }
    for change, mdtype in typed:
        if change.status == DELETED:
            if _qualified_name(change.path, mdtype).lower() in added_names:
                continue
            if work.destructive_ignore.ignores(change.path):
                continue
        elif ignore.ignores(change.path):
            continue
        handler, handled_type = _handler_for(mdtype, presets)
        handler(work, change.status, change.path, handled_type).handle()
    _flow_translations(work, package_dirs)
    delta = work.delta
    for mdtype_name, members in delta.package.items():
        removed = delta.destructive.get(mdtype_name)
        if removed:
            removed -= members
            if not removed:
                del delta.destructive[mdtype_name]
    for path in delta.pruned:
        delta.files.discard(path)
    return delta


__all__ = ["ADDED", "DELETED", "MODIFIED", "Delta", "compute_delta"]
