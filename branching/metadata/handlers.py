"""sgd's handlers for components that are files or folders of files (lib/service/*Handler.js).

One handler per changed file decides its members and the files that travel with it: a
component with its `-meta.xml` (`Standard`), an object's children, bundles and static
resources (`Resource`), folders of templates and reports, translations, bots, external service
registrations. Components inside a file, and SDR's decomposed layouts, are
`branching.metadata.infile_handlers`'.
"""

from __future__ import annotations

import posixpath
import re

from branching.metadata import infile
from branching.metadata.gitread import DELETED
from branching.metadata.registry import BUNDLE, META_SUFFIX, MetadataType
from branching.metadata.work import (
    Members,
    Work,
    base_name,
    folder_regex,
    last_index,
    stem,
    strip_meta,
)

MASTER_DETAIL = "<type>MasterDetail</type>"
# Bundles sgd handles as resources (no check on the folder of the changed file) and as
# LWC-like bundles (a file directly in the type's folder is not part of one).
SGD_IN_RESOURCE = {"GenAiPlannerBundle", "LightningTypeBundle", "WaveTemplateBundle"}
# sgd's suffix for types SDR's registry leaves without one.
_SGD_SUFFIX = {"ExperienceBundle": "site"}
# The sourceBehaviorOptions preset that splits an external service registration's schema out.
DECOMPOSED_ESR = "decomposeExternalServiceRegistrationBeta"
_FOLDER_TYPES = {
    "report": "Report",
    "reportFolder": "ReportFolder",
    "dashboard": "Dashboard",
    "dashboardFolder": "DashboardFolder",
}


class Standard:
    """sgd's StandardHandler: one file (and its -meta.xml) per component."""

    def __init__(self, work: Work, status: str, path: str, mdtype: MetadataType) -> None:
        self.work = work
        self.status = status
        self.original = path
        self.type = mdtype
        self.parts = path.split("/")
        self.meta_file = mdtype.has_meta_file or mdtype.name in _SGD_SUFFIX
        self.suffix = _SGD_SUFFIX.get(mdtype.name, mdtype.suffix)
        self.line = path.replace(META_SUFFIX, "", 1) if self.meta_file else path
        self.ext = strip_meta(base_name(self.line)).split(".")[-1]
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
        return stem(strip_meta(base_name(self.original)))

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
        name = stem(base_name(source))
        return posixpath.join(directory, f"{name}.{self.suffix}{META_SUFFIX}")

    def parse_line(self) -> tuple[str, str] | None:
        match = folder_regex(self.type.directory).search(self.line)
        return (match.group(1), match.group(2)) if match else None


class Flow(Standard):
    def deletion(self) -> None:
        super().deletion()
        self.work.delta.warnings.append(
            f"Flow {self.element_name()} is deleted: Salesforce deletes only its inactive "
            "versions; deactivate it in the org first."
        )


class ObjectChild(Standard):
    """ListView, ValidationRule, … : `Object.Name`."""

    def element_name(self) -> str:
        index = self.parts.index(self.type.directory) if self.type.directory in self.parts else 0
        parent = self.parts[index - 1] if index > 0 else ""
        return f"{parent}.{super().element_name()}"


class CustomField(ObjectChild):
    def addition(self) -> None:
        super().addition()
        content = self.work.read(self.line) or b""
        if MASTER_DETAIL.encode() in content:
            directory = self.type.directory
            index = self.parts.index(directory) if directory in self.parts else 0
            parent_dir = "/".join(self.parts[:index])
            parent = self.parts[index - 1] if index > 0 else ""
            self.work.copy(posixpath.join(parent_dir, f"{parent}.object{META_SUFFIX}"))


class CustomObject(Standard):
    def addition(self) -> None:
        super().addition()
        fields = posixpath.join(posixpath.dirname(self.line), "fields")
        if not self.work.exists(fields):
            return
        for path in self.work.files_under(fields):
            if MASTER_DETAIL.encode() in (self.work.read(path) or b""):
                self.work.copy(path)


class InFolder(Standard):
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
        name = strip_meta(name)
        name = re.sub(r"Folder$", "", name)
        return re.sub(r"\.[^/.]+$", "", name)

    def addition(self) -> None:
        super().addition()
        self.copy_folder_meta()
        directory = posixpath.dirname(self.line)
        name = stem(base_name(self.line))
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


class ReportingFolder(InFolder):
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


class Resource(Standard):
    """sgd's InResourceHandler: static resources, experience bundles, LWC and Aura bundles."""

    def processable(self) -> bool:
        if self.type.kind == BUNDLE and self.type.name not in SGD_IN_RESOURCE:
            return self.parent_folder != self.type.directory
        return True

    def metadata_name(self) -> str:
        directory = self.type.directory
        index = last_index(self.parts, directory)
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
            base = self.parts[last_index(self.parts, self.type.directory) + 1]
        return stem(strip_meta(base))

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


class ObjectTranslation(Resource):
    """A field translation or an object translation: the whole CustomObjectTranslation."""

    def element_name(self) -> str:
        if self.ext == self.suffix and self.type.name == "CustomObjectTranslation":
            base = self.parts[-1]
        else:
            base = self.parts[last_index(self.parts, self.type.directory) + 1]
        return stem(strip_meta(base))

    def addition(self) -> None:
        self.fill(self.work.delta.package)
        if not self.line.endswith(f"objectTranslation{META_SUFFIX}"):
            self.work.copy(self.line)
        translation = (
            f"{posixpath.dirname(self.line)}/{self.parts[-2]}.objectTranslation{META_SUFFIX}"
        )
        diff = infile.compare(self.work.read_old(translation), self.work.read(translation))
        self.work.write_pruned(translation, diff.pruned)


class InBundle(Resource):
    """sgd's InBundleHandler (DigitalExperienceBundle): members `site/Name`."""

    def element_name(self) -> str:
        directory = self.type.directory
        index = self.parts.index(directory) if directory in self.parts else -1
        name = "/".join(self.parts[index + 1 : index + 3])
        name = name.replace(META_SUFFIX, "")
        return re.sub(rf"\.{re.escape(self.suffix)}$", "", name) if self.suffix else name


class Bot(Standard):
    """sgd's BotHandler: a bot (`Bot X`) or one of its versions (`BotVersion X.v1`, which
    brings its bot along)."""

    def __init__(self, work: Work, status: str, path: str, mdtype: MetadataType) -> None:
        super().__init__(work, status, path, mdtype)
        self.meta_file = True
        self.line = path.replace(META_SUFFIX, "", 1)
        self.ext = base_name(self.line).split(".")[-1]

    @property
    def type_name(self) -> str:
        return "BotVersion" if self.ext == "botVersion" else "Bot"

    def processable(self) -> bool:
        return self.ext in ("bot", "botVersion")

    def element_name(self) -> str:
        names = dict.fromkeys([self.parent_folder, stem(base_name(self.line))])
        return ".".join(names)

    def meta_path(self, source: str) -> str:
        return source + META_SUFFIX

    def addition(self) -> None:
        super().addition()
        self.work.add(self.work.delta.package, "Bot", self.parent_folder)
        directory = posixpath.dirname(self.line)
        self.copy_with_meta(f"{directory}/{self.parent_folder}.bot")


class ExternalService(Standard):
    """A registration in SDR's decomposed layout (decomposeExternalServiceRegistrationBeta):
    `Name.externalServiceRegistration-meta.xml` and its schema, `Name.yaml`. A change to
    either deploys the registration, with both files (SDR needs the schema to convert it);
    sgd knows only the first file, so it misses a change to the schema alone."""

    def __init__(self, work: Work, status: str, path: str, mdtype: MetadataType) -> None:
        super().__init__(work, status, path, mdtype)
        self.name = base_name(path).split(".")[0]  # SDR's getName
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
