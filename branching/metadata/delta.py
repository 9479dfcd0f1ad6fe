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

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dulwich.repo import Repo

from branching.git.storage import read_blob
from branching.metadata import infile, xmljs
from branching.metadata.forceignore import ForceIgnore
from branching.metadata.gitread import (
    ADDED,
    DELETED,
    MODIFIED,
    FileChange,
    Snapshot,
    changed_files,
)
from branching.metadata.registry import (
    BUNDLE,
    META_SUFFIX,
    MIXED,
    REGISTRY,
    MetadataType,
)

Members = dict[str, set[str]]

MASTER_DETAIL = "<type>MasterDetail</type>"
# sgd: "Why we should ignore recordTypes for destructive changes manifest? Because the
# operation is not enabled on the metadata API".
_DESTRUCTIVE_ALWAYS_IGNORED = "recordTypes/"
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
_OBJECT_CHILDREN = _COMPOSED - {
    "CustomObject",
    "CustomObjectTranslation",
    "PermissionSet",
    "Workflow",
    "SharingRules",
}
# sgd's `pruneOnly` in-file types: a deletion is a deletion, and nothing inside is a member.
_IN_FILE_PRUNE_ONLY = {
    "Profile",
    "Translations",
    "GlobalValueSetTranslation",
    "StandardValueSetTranslation",
}
# sgd's InFile types whose elements are members of their own, named `Root.element`.
_IN_FILE_CONTAINERS = {
    "Workflow",
    "SharingRules",
    "AssignmentRules",
    "AutoResponseRules",
    "EscalationRules",
    "MatchingRules",
    "MarketingAppExtension",
}
# Bundles sgd handles as resources (no check on the folder of the changed file) and as
# LWC-like bundles (a file directly in the type's folder is not part of one).
_SGD_IN_RESOURCE = {"GenAiPlannerBundle", "LightningTypeBundle", "WaveTemplateBundle"}
# sgd's suffix for types SDR's registry leaves without one.
_SGD_SUFFIX = {"ExperienceBundle": "site"}
# The sourceBehaviorOptions preset that splits an external service registration's schema out.
DECOMPOSED_ESR = "decomposeExternalServiceRegistrationBeta"
_REPORTING = {"Report", "Dashboard"}
_IN_FOLDER = {"EmailTemplate", "Document"}
_FOLDER_TYPES = {
    "report": "Report",
    "reportFolder": "ReportFolder",
    "dashboard": "Dashboard",
    "dashboardFolder": "DashboardFolder",
}


@dataclass
class Delta:
    """The result of comparing two commits.

    `package` and `destructive` map a metadata type to member names. `files` are the source
    files (paths in the repository, at the `to` commit) the deployment needs; `pruned` holds
    the files deployed as a trimmed copy (path → content), which replace the original.
    """

    package: Members = field(default_factory=dict)
    destructive: Members = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    pruned: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # changed paths of no known type

    @property
    def empty(self) -> bool:
        return not self.package and not self.destructive


class _Work:
    """Shared state of one delta: the repository at `to`, the collected answer."""

    def __init__(
        self, repo: Repo, from_commit: str | None, to_commit: str, ignore: ForceIgnore
    ) -> None:
        self.repo = repo
        self.from_commit = from_commit
        self.to_commit = to_commit
        self.ignore = ignore
        self.destructive_ignore = ForceIgnore(ignore.text + "\n" + _DESTRUCTIVE_ALWAYS_IGNORED)
        self.delta = Delta()
        self.snapshot = Snapshot(repo, to_commit)
        self._copied: set[str] = set()

    # -- reading the `to` commit -------------------------------------------------------------

    def read(self, path: str) -> bytes | None:
        return self.snapshot.read(path)

    def read_old(self, path: str) -> bytes | None:
        if self.from_commit is None:
            return None
        try:
            return read_blob(self.repo, self.from_commit, path)
        except ValueError:
            return None

    def exists(self, path: str) -> bool:
        return self.snapshot.exists(path)

    def files_under(self, path: str) -> list[str]:
        """`git ls-tree -r --name-only <to> <path>`: the file itself or a folder's files."""
        return self.snapshot.files_under(path) if path.strip("/") else []

    # -- collecting ----------------------------------------------------------------------------

    def add(self, store: Members, mdtype: str, member: str) -> None:
        store.setdefault(mdtype, set()).add(member)

    def copy(self, path: str) -> None:
        """sgd's copyFiles: a file or a whole folder, unless ignored or already taken."""
        if path in self._copied or path in self.delta.pruned:
            return
        self._copied.add(path)
        if self.ignore.ignores(path):
            return
        for found in self.files_under(path):
            self.delta.files.add(found)

    def write(self, path: str, content: bytes) -> None:
        if path in self.delta.pruned or self.ignore.ignores(path):
            return
        self.delta.pruned[path] = content

    def write_pruned(self, path: str, content: bytes) -> None:
        """A pruned copy of an in-file type; in a full package nothing is pruned, so the file
        goes as it is, which is what SDR's conversion of the whole project writes (sgd's copy
        holds the same elements, but rewritten: a comment alone in an element moves to a line
        of its own)."""
        if self.from_commit is None:
            self.copy(path)
        else:
            self.write(path, content)


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _strip_meta(name: str) -> str:
    return name[: -len(META_SUFFIX)] if name.endswith(META_SUFFIX) else name


def _stem(name: str) -> str:
    """Node's `path.parse(name).name`: the name without its last extension."""
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


def _folder_regex(directory: str) -> re.Pattern[str]:
    return re.compile(rf"(.*[/\\]?{re.escape(directory)})[/\\]([^/\\]*)")


class _Standard:
    """sgd's StandardHandler: one file (and its -meta.xml) per component."""

    def __init__(self, work: _Work, status: str, path: str, mdtype: MetadataType) -> None:
        self.work = work
        self.status = status
        self.original = path
        self.type = mdtype
        self.parts = path.split("/")
        self.meta_file = mdtype.has_meta_file or mdtype.name in _SGD_SUFFIX
        self.suffix = _SGD_SUFFIX.get(mdtype.name, mdtype.suffix)
        self.line = path.replace(META_SUFFIX, "", 1) if self.meta_file else path
        self.ext = _strip_meta(_base(self.line)).split(".")[-1]
        directory = posixpath.dirname(self.line)
        self.parent_folder = directory.split("/")[-1]

    @property
    def type_name(self) -> str:
        return self.type.name

    def handle(self) -> None:
        if not self.processable():
            return
        if self.status == DELETED:
            self.deletion()
        else:
            self.addition()

    def processable(self) -> bool:
        return self.suffix == self.ext

    def element_name(self) -> str:
        return _stem(_strip_meta(_base(self.original)))

    def fill(self, store: Members) -> None:
        self.work.add(store, self.type_name, self.element_name())

    def addition(self) -> None:
        self.fill(self.work.delta.package)
        self.copy_with_meta(self.line)

    def deletion(self) -> None:
        self.fill(self.work.delta.destructive)

    def copy_with_meta(self, source: str) -> None:
        if not self.delegate_copy():
            return
        self.work.copy(source)
        if self.should_copy_meta(source):
            self.work.copy(self.meta_path(source))

    def delegate_copy(self) -> bool:
        return True

    def should_copy_meta(self, source: str) -> bool:
        return self.meta_file and not source.endswith(META_SUFFIX)

    def meta_path(self, source: str) -> str:
        directory = posixpath.dirname(source)
        name = _stem(_base(source))
        return posixpath.join(directory, f"{name}.{self.suffix}{META_SUFFIX}")

    def parse_line(self) -> tuple[str, str] | None:
        match = _folder_regex(self.type.directory).search(self.line)
        return (match.group(1), match.group(2)) if match else None


class _Flow(_Standard):
    def deletion(self) -> None:
        super().deletion()
        self.work.delta.warnings.append(
            f"Flow {self.element_name()} is deleted: Salesforce deletes only its inactive "
            "versions; deactivate it in the org first."
        )


class _ObjectChild(_Standard):
    """ListView, ValidationRule, … : `Object.Name`."""

    def element_name(self) -> str:
        index = self.parts.index(self.type.directory) if self.type.directory in self.parts else 0
        parent = self.parts[index - 1] if index > 0 else ""
        return f"{parent}.{super().element_name()}"


class _CustomField(_ObjectChild):
    def addition(self) -> None:
        super().addition()
        content = self.work.read(self.line) or b""
        if MASTER_DETAIL.encode() in content:
            directory = self.type.directory
            index = self.parts.index(directory) if directory in self.parts else 0
            parent_dir = "/".join(self.parts[:index])
            parent = self.parts[index - 1] if index > 0 else ""
            self.work.copy(posixpath.join(parent_dir, f"{parent}.object{META_SUFFIX}"))


class _CustomObject(_Standard):
    def addition(self) -> None:
        super().addition()
        fields = posixpath.join(posixpath.dirname(self.line), "fields")
        if not self.work.exists(fields):
            return
        for path in self.work.files_under(fields):
            if MASTER_DETAIL.encode() in (self.work.read(path) or b""):
                self.work.copy(path)


class _InFolder(_Standard):
    """EmailTemplate and Document (and, below, Report and Dashboard): members `Folder/Name`."""

    def processable(self) -> bool:
        return (
            self.suffix == self.ext
            or self.parent_folder != self.type.directory
            or self.ext.endswith("Folder")
        )

    def element_name(self) -> str:
        directory = self.type.directory
        index = self.parts.index(directory) if directory in self.parts else -1
        name = "/".join(self.parts[index + 1 :])
        name = _strip_meta(name)
        name = re.sub(r"Folder$", "", name)
        return re.sub(r"\.[^/.]+$", "", name)

    def addition(self) -> None:
        super().addition()
        self.copy_folder_meta()
        directory = posixpath.dirname(self.line)
        name = _stem(_base(self.line))
        for path in self.work.files_under(directory):
            if name in path:
                self.copy_with_meta(path)

    def copy_folder_meta(self) -> None:
        parsed = self.parse_line()
        if parsed is None:
            return
        folder_path, folder_name = parsed
        suffix = "" if folder_name.endswith("Folder") else f".{self.suffix.lower()}"
        self.copy_with_meta(posixpath.join(folder_path, f"{folder_name}{suffix}{META_SUFFIX}"))


class _ReportingFolder(_InFolder):
    @property
    def type_name(self) -> str:
        return _FOLDER_TYPES.get(self.ext, self.type.name)

    def processable(self) -> bool:
        # sgd's Report/Dashboard definition has no suffix of its own.
        return self.parent_folder != self.type.directory or self.ext.endswith("Folder")

    def copy_folder_meta(self) -> None:
        parsed = self.parse_line()
        if parsed is not None:
            folder_path, folder_name = parsed
            self.copy_with_meta(posixpath.join(folder_path, f"{folder_name}{META_SUFFIX}"))


class _Resource(_Standard):
    """sgd's InResourceHandler: static resources, experience bundles, LWC and Aura bundles."""

    def processable(self) -> bool:
        if self.type.kind == BUNDLE and self.type.name not in _SGD_IN_RESOURCE:
            return self.parent_folder != self.type.directory
        return True

    def metadata_name(self) -> str:
        directory = self.type.directory
        index = _last_index(self.parts, directory)
        full = self.parts[: index + 2]
        pieces = full[-1].replace(META_SUFFIX, "", 1).split(".")
        if len(pieces) > 1:
            pieces.pop()
        full[-1] = ".".join(pieces)
        return "/".join(full)

    def element_name(self) -> str:
        if self.ext == self.suffix and self.suffix:
            base = self.parts[-1]
        else:
            base = self.parts[_last_index(self.parts, self.type.directory) + 1]
        return _stem(_strip_meta(base))

    def addition(self) -> None:
        name = self.metadata_name()
        self.fill(self.work.delta.package)
        self.copy_with_meta(self.line)
        folder = name[: name.rfind("/")] if "/" in name else ""
        try:
            pattern = re.compile(f"{name}[/.]")
        except re.error:
            pattern = re.compile(re.escape(name) + "[/.]")
        for path in self.work.files_under(folder):
            if pattern.search(path):
                self.work.copy(path)

    def should_copy_meta(self, source: str) -> bool:
        return True

    def meta_path(self, source: str) -> str:
        return f"{self.metadata_name()}.{self.suffix or 'undefined'}{META_SUFFIX}"

    def deletion(self) -> None:
        parsed = self.parse_line()
        if parsed is not None and self.work.exists(posixpath.join(*parsed)):
            self.addition()
        else:
            super().deletion()


def _last_index(parts: list[str], item: str) -> int:
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] == item:
            return index
    return -1


class _ObjectTranslation(_Resource):
    """A field translation or an object translation: the whole CustomObjectTranslation."""

    def element_name(self) -> str:
        if self.ext == self.suffix and self.type.name == "CustomObjectTranslation":
            base = self.parts[-1]
        else:
            base = self.parts[_last_index(self.parts, self.type.directory) + 1]
        return _stem(_strip_meta(base))

    def addition(self) -> None:
        self.fill(self.work.delta.package)
        if not self.line.endswith(f"objectTranslation{META_SUFFIX}"):
            self.work.copy(self.line)
        translation = (
            f"{posixpath.dirname(self.line)}/{self.parts[-2]}.objectTranslation{META_SUFFIX}"
        )
        diff = infile.compare(self.work.read_old(translation), self.work.read(translation))
        self.work.write_pruned(translation, diff.pruned)


class _InFile(_Standard):
    """Profile and Translations: deployed pruned, member listed when anything changed."""

    def processable(self) -> bool:
        return self.suffix == self.ext

    def addition(self) -> None:
        self.compare_and_store(container=True)

    def qualified(self, member: str) -> str:
        """sgd's `_getQualifiedName`: `Account.MyRule` inside workflows/Account.workflow."""
        return f"{_base(self.line).split('.')[0]}.{member}"

    def compare_and_store(self, container: bool) -> None:
        diff = infile.compare(self.work.read_old(self.line), self.work.read(self.line))
        for mdtype, members in diff.deleted.items():
            for member in members:
                self.work.add(self.work.delta.destructive, mdtype, self.qualified(member))
        for mdtype, members in diff.added.items():
            for member in members:
                self.work.add(self.work.delta.package, mdtype, self.qualified(member))
        if container and not diff.empty:
            self.fill(self.work.delta.package)
        if not diff.empty:
            self.work.write_pruned(self.line, diff.pruned)

    def deletion(self) -> None:
        if self.type.name in _IN_FILE_PRUNE_ONLY:
            super().deletion()
        else:
            self.addition()


class _CustomLabels(_InFile):
    """The labels file, or one `labels/X.label-meta.xml` of SDR's decomposed layout (sgd's
    CustomLabelHandler: then a plain CustomLabel member)."""

    @property
    def type_name(self) -> str:
        return "CustomLabel" if self.decomposed else self.type.name

    @property
    def decomposed(self) -> bool:
        return self.ext == "label"

    def processable(self) -> bool:
        return True

    def qualified(self, member: str) -> str:
        return member

    def addition(self) -> None:
        if self.decomposed:
            _Standard.addition(self)
        else:
            self.compare_and_store(container=False)

    def deletion(self) -> None:
        if self.decomposed:
            _Standard.deletion(self)
        else:
            self.compare_and_store(container=False)


class _ContainedDecomposed(_Standard):
    """sgd's ContainedDecomposedHandler (PermissionSet): one file, or a folder of files in
    SDR's decomposed layout (the member is the folder, and the whole folder is copied)."""

    def __init__(self, work: _Work, status: str, path: str, mdtype: MetadataType) -> None:
        super().__init__(work, status, path, mdtype)
        base = _base(self.line)
        parts = self.line.split("/")
        # node's path.parse(line).name: the base without its last extension
        self.is_decomposed = f".{mdtype.suffix}" not in base or parts[-2] == _stem(base)
        if self.is_decomposed:
            cut = -2 if len(parts) > 1 and parts[-2] == "objectSettings" else -1
            self.holder = "/".join(parts[:cut])
        else:
            self.holder = self.line.replace(META_SUFFIX, "").replace(f".{mdtype.suffix}", "")

    def processable(self) -> bool:
        return True

    def element_name(self) -> str:
        return _base(self.holder)

    def addition(self) -> None:
        super().addition()
        if self.is_decomposed:
            self.work.copy(self.holder)

    def deletion(self) -> None:
        if self.is_decomposed and self.work.files_under(self.holder):
            self.addition()
        else:
            super().deletion()


# sgd's directory names for the children it handles as decomposed (lib/metadata/v65.js).
_SGD_DECOMPOSED_DIRECTORIES = {
    "WorkflowAlert": "workflowAlerts",
    "WorkflowFieldUpdate": "workflowFieldUpdates",
    "WorkflowFlowAction": "workflowFlowActions",
    "WorkflowKnowledgePublish": "workflowKnowledgePublishs",
    "WorkflowOutboundMessage": "workflowOutboundMessages",
    "WorkflowRule": "workflowRules",
    "WorkflowSend": "workflowSends",
    "WorkflowTask": "workflowTasks",
    "SharingCriteriaRule": "sharingCriteriaRules",
    "SharingGuestRule": "sharingGuestRules",
    "SharingOwnerRule": "sharingOwnerRules",
    "SharingTerritoryRule": "sharingTerritoryRules",
}


class _Decomposed(_Standard):
    """sgd's DecomposedHandler: a workflow or sharing rule child in SDR's decomposed layout
    (`workflows/Account/workflowRules/X.workflowRule-meta.xml`): member `Account.X`, and the
    parent's file travels with it."""

    def __init__(self, work: _Work, status: str, path: str, mdtype: MetadataType) -> None:
        super().__init__(work, status, path, mdtype)
        directory = _SGD_DECOMPOSED_DIRECTORIES.get(mdtype.name, mdtype.directory)
        self.index = self.parts.index(directory) if directory in self.parts else -1

    def parent_name(self) -> str:
        return self.parts[self.index - 1] if self.index > 0 else ""

    def element_name(self) -> str:
        return f"{self.parent_name()}.{super().element_name()}"

    def addition(self) -> None:
        super().addition()
        parent_type = REGISTRY.types.get(self.type.parent)
        if parent_type is None or self.index < 0:
            return
        folder = "/".join(self.parts[: self.index])
        self.copy_with_meta(f"{folder}/{self.parent_name()}.{parent_type.suffix}{META_SUFFIX}")


class _InBundle(_Resource):
    """sgd's InBundleHandler (DigitalExperienceBundle): members `site/Name`."""

    def element_name(self) -> str:
        directory = self.type.directory
        index = self.parts.index(directory) if directory in self.parts else -1
        name = "/".join(self.parts[index + 1 : index + 3])
        name = name.replace(META_SUFFIX, "")
        return re.sub(rf"\.{re.escape(self.suffix)}$", "", name) if self.suffix else name


class _Bot(_Standard):
    """sgd's BotHandler: a bot (`Bot X`) or one of its versions (`BotVersion X.v1`, which
    brings its bot along)."""

    def __init__(self, work: _Work, status: str, path: str, mdtype: MetadataType) -> None:
        super().__init__(work, status, path, mdtype)
        self.meta_file = True
        self.line = path.replace(META_SUFFIX, "", 1)
        self.ext = _base(self.line).split(".")[-1]

    @property
    def type_name(self) -> str:
        return "BotVersion" if self.ext == "botVersion" else "Bot"

    def processable(self) -> bool:
        return self.ext in ("bot", "botVersion")

    def element_name(self) -> str:
        names = dict.fromkeys([self.parent_folder, _stem(_base(self.line))])
        return ".".join(names)

    def meta_path(self, source: str) -> str:
        return source + META_SUFFIX

    def addition(self) -> None:
        super().addition()
        self.work.add(self.work.delta.package, "Bot", self.parent_folder)
        directory = posixpath.dirname(self.line)
        self.copy_with_meta(f"{directory}/{self.parent_folder}.bot")


class _ExternalService(_Standard):
    """A registration in SDR's decomposed layout (decomposeExternalServiceRegistrationBeta):
    `Name.externalServiceRegistration-meta.xml` and its schema, `Name.yaml`. A change to
    either deploys the registration, with both files (SDR needs the schema to convert it);
    sgd knows only the first file, so it misses a change to the schema alone."""

    def __init__(self, work: _Work, status: str, path: str, mdtype: MetadataType) -> None:
        super().__init__(work, status, path, mdtype)
        self.name = _base(path).split(".")[0]  # SDR's getName
        folder = posixpath.dirname(path)
        self.meta = f"{folder}/{self.name}.{mdtype.suffix}{META_SUFFIX}"
        self.schema = f"{folder}/{self.name}.yaml"

    def processable(self) -> bool:
        return self.original in (self.meta, self.schema)

    def element_name(self) -> str:
        return self.name

    def addition(self) -> None:
        self.fill(self.work.delta.package)
        self.work.copy(self.meta)
        self.work.copy(self.schema)

    def deletion(self) -> None:
        if self.work.exists(self.meta):  # the schema alone went: the registration changed
            self.addition()
        else:
            self.fill(self.work.delta.destructive)


_Handler = Callable[[_Work, str, str, MetadataType], _Standard]


def _handler_for(
    mdtype: MetadataType, presets: tuple[str, ...] = ()
) -> tuple[_Handler, MetadataType]:
    if mdtype.name == "ExternalServiceRegistration" and DECOMPOSED_ESR in presets:
        return _ExternalService, mdtype
    if mdtype.parent == "CustomObjectTranslation":
        return _ObjectTranslation, REGISTRY["CustomObjectTranslation"]
    if mdtype.parent == "CustomLabels" or mdtype.name == "CustomLabels":
        return _CustomLabels, REGISTRY["CustomLabels"]
    if mdtype.name == "CustomField":
        return _CustomField, mdtype
    if mdtype.parent == "CustomObject":
        return _ObjectChild, mdtype
    handlers: dict[str, _Handler] = {
        "CustomObject": _CustomObject,
        "CustomObjectTranslation": _ObjectTranslation,
        "Flow": _Flow,
        "Profile": _InFile,
        "Translations": _InFile,
        "EmailTemplate": _InFolder,
        "Document": _InFolder,
        "Report": _ReportingFolder,
        "Dashboard": _ReportingFolder,
    }
    if mdtype.name in handlers:
        return handlers[mdtype.name], mdtype
    if mdtype.name in _IN_FILE_CONTAINERS or mdtype.name in _IN_FILE_PRUNE_ONLY:
        return _InFile, mdtype
    if mdtype.name == "PermissionSet" or mdtype.parent == "PermissionSet":
        return _ContainedDecomposed, REGISTRY["PermissionSet"]
    if mdtype.name in _SGD_DECOMPOSED_DIRECTORIES:
        return _Decomposed, mdtype
    if mdtype.name == "Bot" or mdtype.parent == "Bot":
        return _Bot, REGISTRY["Bot"]
    if mdtype.name == "DigitalExperienceBundle" or mdtype.parent == "DigitalExperienceBundle":
        return _InBundle, REGISTRY["DigitalExperienceBundle"]
    if mdtype.name in _SGD_IN_RESOURCE:
        return _Resource, mdtype
    if mdtype.kind in (BUNDLE, MIXED):
        return _Resource, mdtype
    return _Standard, mdtype


_TRANSLATION = ".translation"


def _flow_translations(work: _Work, package_dirs: list[str]) -> None:
    """sgd's FlowTranslationProcessor: when flows are deployed, every translation file (at
    `to`, not ignored) holding one of their `flowDefinitions` is deployed too (`Translations
    fr`), written with only those definitions, unless the translation already travels as a
    pruned copy of its own change (sgd writes a file once)."""
    flows = work.delta.package.get("Flow")
    if not flows:
        return
    for directory in package_dirs:
        for path in work.files_under(directory.strip("/")):
            if not _strip_meta(path).endswith(_TRANSLATION) or work.ignore.ignores(path):
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
            work.add(work.delta.package, "Translations", _stem(_base(_strip_meta(path))))
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
    return _base(path)


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
    work = _Work(repo, from_commit, to_commit, ignore)
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
        (_qualified_name(c.path, types[c.path]) if c.path in types else _base(c.path)).lower()
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
