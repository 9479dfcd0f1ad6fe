"""Which branches a user sees and may move over HTTP, and why not (docs/design.md, invariant 7).

Only promotions move an instance's branch, a main branch or releasemgr's own `releasemgr/…`
branches; a push may move a feature's branch when its user may work on the feature (its owner,
or a release manager), and may create a new `feature/…` branch when its user may start
features. Everything else is refused with the reason, which git prints beside the ref.

The branch of an instance the user may not see (`permissions.visible_instances`), and the
`releasemgr/promotion-N` branch of a promotion they may not see, are not advertised, cannot be
fetched, and a push to one is refused without naming the instance.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from branching.git.remote import LOCAL_ONLY_PREFIX
from branching.models import Feature, Repository
from instances.environments.permissions import visible_instances, visible_promotions
from instances.models import Instance, Promotion

HEADS = "refs/heads/"
FEATURE_PREFIX = "feature/"


@dataclass(frozen=True)
class Storage:
    """What a push to one git storage needs to know, read once per push."""

    main_branches: frozenset[str]
    instance_branches: dict[str, str]  # branch → instance name
    features: dict[str, Feature]  # branch → feature
    hidden: frozenset[str]  # branches `user` may not see: hidden instances', their promotions'

    @classmethod
    def of(cls, storage_key: str, user: User) -> Storage:
        instances = Instance.objects.filter(storage_key=storage_key)
        promotions = Promotion.objects.filter(target__storage_key=storage_key)
        return cls(
            main_branches=frozenset(
                Repository.objects.filter(storage_key=storage_key).values_list(
                    "main_branch", flat=True
                )
            ),
            instance_branches=dict(instances.values_list("branch", "name")),
            features={
                f.branch: f for f in Feature.objects.filter(repository__storage_key=storage_key)
            },
            hidden=frozenset(
                instances.exclude(pk__in=visible_instances(user)).values_list("branch", flat=True)
            )
            | frozenset(
                promotions.exclude(pk__in=visible_promotions(user))
                .exclude(temp_branch="")
                .values_list("temp_branch", flat=True)
            ),
        )

    def hidden_refs(self) -> frozenset[bytes]:
        return frozenset((HEADS + branch).encode() for branch in self.hidden)


def refusal(user: User, storage: Storage, ref: str, new_is_zero: bool) -> str:
    """Why `user` may not move `ref`, or "" when they may."""
    if not ref.startswith(HEADS):
        return "only branches can be pushed here, not tags or other refs"
    branch = ref[len(HEADS) :]
    if branch in storage.hidden and not branch.startswith(LOCAL_ONLY_PREFIX):
        # As for a branch that is not there: nothing about the instance it belongs to.
        if branch.startswith(FEATURE_PREFIX):
            return f"you may not push to {branch}"
        return "only feature/… branches can be pushed"
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
