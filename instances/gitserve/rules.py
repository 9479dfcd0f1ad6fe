"""Which branches a push over HTTP may move, and why not (docs/design.md, invariant 7).

Only promotions move an instance's branch, a main branch or releasemgr's own `releasemgr/…`
branches; a push may move a feature's branch when its user may work on the feature (its owner,
or a release manager), and may create a new `feature/…` branch when its user may start
features. Everything else is refused with the reason, which git prints beside the ref.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from branching.git.remote import LOCAL_ONLY_PREFIX
from branching.models import Feature, Repository
from instances.models import Instance

HEADS = "refs/heads/"
FEATURE_PREFIX = "feature/"


@dataclass(frozen=True)
class Storage:
    """What a push to one git storage needs to know, read once per push."""

    main_branches: frozenset[str]
    instance_branches: dict[str, str]  # branch → instance name
    features: dict[str, Feature]  # branch → feature

    @classmethod
    def of(cls, storage_key: str) -> Storage:
        return cls(
            main_branches=frozenset(
                Repository.objects.filter(storage_key=storage_key).values_list(
                    "main_branch", flat=True
                )
            ),
            instance_branches=dict(
                Instance.objects.filter(storage_key=storage_key).values_list("branch", "name")
            ),
            features={
                f.branch: f for f in Feature.objects.filter(repository__storage_key=storage_key)
            },
        )


def refusal(user: User, storage: Storage, ref: str, new_is_zero: bool) -> str:
    """Why `user` may not move `ref`, or "" when they may."""
    if not ref.startswith(HEADS):
        return "only branches can be pushed here, not tags or other refs"
    branch = ref[len(HEADS) :]
    if branch.startswith(LOCAL_ONLY_PREFIX) or branch.startswith("releasemgr/"):
        return "releasemgr/… branches belong to promotions in progress"
    if branch in storage.main_branches:
        return f"{branch} is a main branch: only promotions move it"
    if branch in storage.instance_branches:
        return (
            f"{branch} is the branch of instance {storage.instance_branches[branch]}: "
            "only promotions move it"
        )
    if new_is_zero:
        return "branches are not deleted over git here; ask a release manager"
    feature = storage.features.get(branch)
    if feature is not None:
        if feature.owner_id == user.pk or user.has_perm("branching.change_feature"):
            return ""
        return f"{branch} is the branch of {feature.key}, owned by {feature.owner}"
    if not branch.startswith(FEATURE_PREFIX):
        return "only feature/… branches can be pushed"
    if not user.has_perm("branching.add_feature"):
        return "you may not start features"
    return ""
