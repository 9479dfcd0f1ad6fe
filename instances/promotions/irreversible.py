"""What a rollback cannot undo in the org, read from the components of the promotion's package.

A rollback deploys the inverse of a promotion: the components it changed go back to their
previous content, the components it added go into destructiveChanges.xml. Some things that
deployment cannot give back; the confirmation page lists them, from the promotion's own delta
(`target_head_before..target_head_after`, read from the local storage, never the network), and
asks for an acknowledgement before anything is queued (docs/rollback.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from branching.git import storage
from branching.metadata.gitread import RevisionError
from branching.metadata.package import PackageError, delta
from instances.models import Promotion


@dataclass(frozen=True)
class Irreversible:
    """One kind of thing the rollback leaves as it is, and the components concerned."""

    title: str
    detail: str
    components: list[str] = field(default_factory=list)


ALWAYS = [
    Irreversible(
        "Records changed since",
        "Records that users, flows, triggers or integrations created, changed or deleted since "
        "the promotion are not changed back.",
    ),
    Irreversible(
        "What already happened",
        "Emails, outbound messages, platform events and calls to other systems sent since the "
        "promotion cannot be recalled.",
    ),
]

_PICKLIST_HOLDERS = ("GlobalValueSet", "StandardValueSet")


def _names(members: dict[str, set[str]], *types: str) -> set[str]:
    return {f"{t} {m}" for t in types for m in members.get(t, set())}


def _picklist_fields(repo: storage.Repo, commit: str, paths: set[str]) -> set[str]:
    """CustomField members among `paths` that are picklists at `commit`."""
    out = set()
    for path in paths:
        parts = path.split("/")
        if not path.endswith(".field-meta.xml") or len(parts) < 3 or parts[-2] != "fields":
            continue
        content = storage.read_blob(repo, commit, path) or b""
        if b"<valueSet" in content or b"<picklist" in content:
            field_name = parts[-1].removesuffix(".field-meta.xml")
            out.add(f"CustomField {parts[-3]}.{field_name}")
    return out


def what_stays(promotion: Promotion) -> tuple[list[Irreversible], str]:
    """What rolling back `promotion` cannot undo, and a note when its package could not be
    read (then only what is always true is listed)."""
    before, after = promotion.target_head_before, promotion.target_head_after
    path = promotion.target.repository.local_path
    if not before or not after or not (path / "HEAD").exists():
        return list(ALWAYS), "The promotion's commits are not in the local storage."
    try:
        with storage.open_repo(path) as repo:
            forward = delta(repo, before, after)
            inverse = delta(repo, after, before)
            picklists = _picklist_fields(repo, after, forward.files)
    except (PackageError, RevisionError, KeyError, ValueError) as exc:
        return list(ALWAYS), f"The promotion's package could not be read: {exc}"
    added = {t: m - inverse.package.get(t, set()) for t, m in forward.package.items()}
    changed = {t: m & inverse.package.get(t, set()) for t, m in forward.package.items()}
    out: list[Irreversible] = []
    if record_types := _names(added, "RecordType"):
        out.append(
            Irreversible(
                "Record types stay",
                "The Metadata API cannot delete record types: the ones this promotion added stay "
                "in the org. Deactivate them in Setup.",
                sorted(record_types),
            )
        )
    if data := _names(added, "CustomObject", "CustomField", "BigObject"):
        out.append(
            Irreversible(
                "Data in added objects and fields is deleted",
                "Deleting the objects and fields this promotion added deletes every value "
                "stored in them since. Fields wait in the org's recycle bin for 15 days; "
                "export what you need first.",
                sorted(data),
            )
        )
    if deleted := _names(forward.destructive, "CustomObject", "CustomField"):
        out.append(
            Irreversible(
                "Deleted data does not come back",
                "The objects and fields this promotion deleted come back empty: the data "
                "deleted with them is not restored.",
                sorted(deleted),
            )
        )
    if flows := _names(forward.package, "Flow"):
        out.append(
            Irreversible(
                "Flows keep their versions",
                "A changed flow goes back as a new version and earlier versions stay; a flow "
                "this promotion added cannot be deleted while it has an active version "
                "(deactivate it first), and running interviews go on.",
                sorted(flows),
            )
        )
    if (
        values := picklists
        | _names(changed, *_PICKLIST_HOLDERS)
        | _names(added, *_PICKLIST_HOLDERS)
    ):
        out.append(
            Irreversible(
                "Picklist values stay on records",
                "Picklist values this promotion added or renamed stay on the records that use "
                "them; removed values become inactive, not deleted.",
                sorted(values),
            )
        )
    return out + ALWAYS, ""
