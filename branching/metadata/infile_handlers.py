"""sgd's handlers for components inside a file, and for SDR's decomposed layouts.

A profile, a translation, the labels file, workflows and sharing rules deploy only the elements
that changed (a pruned copy, `branching.metadata.infile`); a permission set or a workflow child
may be a folder of files, whose member is the folder or the parent.
"""

from __future__ import annotations

from branching.metadata import infile
from branching.metadata.handlers import Standard
from branching.metadata.registry import META_SUFFIX, REGISTRY, MetadataType
from branching.metadata.work import Work, base_name, stem

# sgd's `pruneOnly` in-file types: a deletion is a deletion, and nothing inside is a member.
IN_FILE_PRUNE_ONLY = {
    "Profile",
    "Translations",
    "GlobalValueSetTranslation",
    "StandardValueSetTranslation",
}
# sgd's InFile types whose elements are members of their own, named `Root.element`.
IN_FILE_CONTAINERS = {
    "Workflow",
    "SharingRules",
    "AssignmentRules",
    "AutoResponseRules",
    "EscalationRules",
    "MatchingRules",
    "MarketingAppExtension",
}


class InFile(Standard):
    """Profile and Translations: deployed pruned, member listed when anything changed."""

    def processable(self) -> bool:
        return self.suffix == self.ext

    def addition(self) -> None:
        self.compare_and_store(container=True)

    def qualified(self, member: str) -> str:
        """sgd's `_getQualifiedName`: `Account.MyRule` inside workflows/Account.workflow."""
        return f"{base_name(self.line).split('.')[0]}.{member}"

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
        if self.type.name in IN_FILE_PRUNE_ONLY:
            super().deletion()
        else:
            self.addition()


class CustomLabels(InFile):
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
            Standard.addition(self)
        else:
            self.compare_and_store(container=False)

    def deletion(self) -> None:
        if self.decomposed:
            Standard.deletion(self)
        else:
            self.compare_and_store(container=False)


class ContainedDecomposed(Standard):
    """sgd's ContainedDecomposedHandler (PermissionSet): one file, or a folder of files in
    SDR's decomposed layout (the member is the folder, and the whole folder is copied)."""

    def __init__(self, work: Work, status: str, path: str, mdtype: MetadataType) -> None:
        super().__init__(work, status, path, mdtype)
        base = base_name(self.line)
        parts = self.line.split("/")
        # node's path.parse(line).name: the base without its last extension
        self.is_decomposed = f".{mdtype.suffix}" not in base or parts[-2] == stem(base)
        if self.is_decomposed:
            cut = -2 if len(parts) > 1 and parts[-2] == "objectSettings" else -1
            self.holder = "/".join(parts[:cut])
        else:
            self.holder = self.line.replace(META_SUFFIX, "").replace(f".{mdtype.suffix}", "")

    def processable(self) -> bool:
        return True

    def element_name(self) -> str:
        return base_name(self.holder)

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
SGD_DECOMPOSED_DIRECTORIES = {
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


class Decomposed(Standard):
    """sgd's DecomposedHandler: a workflow or sharing rule child in SDR's decomposed layout
    (`workflows/Account/workflowRules/X.workflowRule-meta.xml`): member `Account.X`, and the
    parent's file travels with it."""

    def __init__(self, work: Work, status: str, path: str, mdtype: MetadataType) -> None:
        super().__init__(work, status, path, mdtype)
        directory = SGD_DECOMPOSED_DIRECTORIES.get(mdtype.name, mdtype.directory)
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
