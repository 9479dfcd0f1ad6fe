"""A worker's run of one promotion: the claim it holds while the steps run (`Run`), the ways a
run stops short (the exceptions the engine turns into a status), and what every commit of the
run shares: the temporary branch it merges on and the author of its commits.

`Run.record` ends each step: it renews the worker's lease and succeeds only while the worker
still holds the claim (`instances.models.leases`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from branching.git.remote import LOCAL_ONLY_PREFIX
from branching.models import Feature
from instances.models import Instance, Promotion, PromotionStatus, Step, leases
from instances.promotions.log import log


class LostClaim(Exception):
    """Another worker holds the promotion now (our lease expired); stop without touching it."""


class PromotionFailed(Exception):
    """The promotion cannot succeed as it stands; the message is the reason users see."""


class Conflicted(Exception):
    def __init__(
        self,
        feature: Feature,
        target: Instance,
        conflicts: list[dict[str, Any]],
        what: str | None = None,
    ) -> None:
        self.feature, self.conflicts = feature, conflicts
        paths = ", ".join(c["path"] for c in conflicts) or "(no path named)"
        super().__init__(f"{what or feature.key} conflicts with {target.name}: {paths}")


class NeedsApproval(Exception):
    """The merge resolved conflicts with recorded resolutions that the approvals given do not
    cover: the promotion goes back to awaiting approval, with those resolutions to approve."""


class TargetMoved(Exception):
    """The target branch moved under us (someone pushed to the remote): start from the fetch."""


@dataclass
class Run:
    promotion: Promotion
    worker: str
    pause: float = 0.0

    def record(self, step: Step, *, pause: bool = True, **fields: Any) -> None:
        """Complete `step` (and save `fields`) only while we still hold the claim.

        `pause` applies PROMOTION_STEP_PAUSE; never inside a transaction (on SQLite it would
        hold every writer up) nor on a heartbeat.
        """
        running = Promotion.objects.filter(pk=self.promotion.pk, status=PromotionStatus.RUNNING)
        if not leases.renew(running, self.worker, step=step, **fields):
            raise LostClaim()
        self.promotion.step = step
        for name, value in fields.items():
            setattr(self.promotion, name, value)
        if self.pause and pause:
            time.sleep(self.pause)

    def heartbeat(self) -> None:
        self.record(Step(self.promotion.step), pause=False)

    def log(self, message: str, **kwargs: Any) -> None:
        log(self.promotion, message, **kwargs)


def temp_name(promotion: Promotion) -> str:
    """The local-only branch the promotion merges on before the target moves."""
    return f"{LOCAL_ONLY_PREFIX}promotion-{promotion.pk}"


def author(promotion: Promotion) -> str:
    """The author of the promotion's merge and revert commits: its requester."""
    user = promotion.requested_by
    name = (user.get_full_name() or user.get_username()).replace("<", "").replace(">", "")
    email = (user.email or f"{user.get_username()}@releasemgr.invalid").replace(">", "")
    return f"{name} <{email}>"
