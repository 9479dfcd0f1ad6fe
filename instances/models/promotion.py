"""Promotions: bringing features into an instance, one recorded step at a time.

A promotion's state is rows, not memory: its status, the last step it completed, the commits it
saw and made, and an ordered log. A worker that dies mid-way leaves all of that behind, so the
next worker resumes after the last completed step (docs/design.md, invariants 3, 4 and 6).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from branching.models import Collection, Feature, Repository
from instances.models.hierarchy import Instance


class PromotionStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    CONFLICTED = "conflicted", "Conflicted"  # a merge conflict: resolve, then retry
    FAILED = "failed", "Failed"  # the check or the deployment said no: retry after fixing
    ERRORED = "errored", "Errored"  # the worker could not finish: retry
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL = frozenset(
    {
        PromotionStatus.SUCCEEDED,
        PromotionStatus.CONFLICTED,
        PromotionStatus.FAILED,
        PromotionStatus.ERRORED,
        PromotionStatus.REJECTED,
        PromotionStatus.CANCELLED,
    }
)
RETRYABLE = frozenset({PromotionStatus.CONFLICTED, PromotionStatus.FAILED, PromotionStatus.ERRORED})
# Waiting, or ended by a conflict or a refusal, after which its target branch never moved and
# the org has nothing of it: cancelling gives it up for good (it holds no rollback, and its
# features may be asked for again). An errored one may have reached the org: retry it.
CANCELLABLE = frozenset(
    {
        PromotionStatus.AWAITING_APPROVAL,
        PromotionStatus.QUEUED,
        PromotionStatus.CONFLICTED,
        PromotionStatus.FAILED,
    }
)
WAITING = frozenset({PromotionStatus.AWAITING_APPROVAL, PromotionStatus.QUEUED})


class Direction(models.TextChoices):
    ENTER = "enter", "Enter the pipeline"  # from the feature branch into its start instance
    FORWARD = "forward", "Promote"  # from a child to its parent
    BACK = "back", "Back promote"  # from a parent to another of its children
    # Reverts a succeeded promotion's merges on its own target; no source, like ENTER.
    ROLLBACK = "rollback", "Roll back"


# Directions without a source instance: the features come from their branches, or the
# promotion undoes one already made in its target.
SOURCELESS = frozenset({Direction.ENTER, Direction.ROLLBACK})


class Step(models.IntegerChoices):
    """The last step a promotion completed; a retried run resumes after it."""

    NONE = 0, "Not started"
    CHECKED = 1, "Checked"
    TEMP_BRANCH = 2, "Temporary branch created"
    MERGED = 3, "Features merged"
    DEPLOYED = 4, "Deployed"
    TARGET_MOVED = 5, "Target branch moved"
    CLEANED = 6, "Temporary branch deleted"
    RECORDED = 7, "Recorded"


class Promotion(models.Model):
    target = models.ForeignKey(Instance, on_delete=models.PROTECT, related_name="promotions_in")
    source = models.ForeignKey(
        Instance,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="promotions_out",
        help_text="Empty when features enter the pipeline from their own branches.",
    )
    direction = models.CharField(max_length=10, choices=Direction.choices)
    collection = models.ForeignKey(
        Collection, on_delete=models.SET_NULL, null=True, blank=True, related_name="promotions"
    )
    rollback_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rollbacks",
        help_text="The succeeded promotion whose merges this rollback reverts.",
    )
    features = models.ManyToManyField(
        Feature, through="PromotionFeature", related_name="promotions"
    )
    status = models.CharField(
        max_length=20, choices=PromotionStatus.choices, default=PromotionStatus.QUEUED
    )
    step = models.PositiveSmallIntegerField(choices=Step.choices, default=Step.NONE)
    attempt = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="promotions_requested"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The commits: where the target was, the temporary branch's merged head, where it went.
    target_head_before = models.CharField(max_length=64, blank=True)
    temp_branch = models.CharField(max_length=255, blank=True)
    merged_head = models.CharField(max_length=64, blank=True)
    target_head_after = models.CharField(max_length=64, blank=True)
    test_level = models.CharField(
        max_length=20, blank=True, help_text="Overrides the target instance's test level."
    )
    run_tests = models.JSONField(default=list, blank=True)
    failure_reason = models.TextField(blank=True)
    conflicts = models.JSONField(default=list, blank=True)
    # Resolved content per conflicted path, applied to the merge on the next attempt, so that a
    # resolution never drags the target's other changes into the feature branch.
    resolutions = models.JSONField(default=dict, blank=True)
    # Both sides of each resolved path as the conflict showed them, so that an approver sees
    # the resolution as a diff against each side.
    resolved_conflicts = models.JSONField(default=dict, blank=True)
    # Paths the last merge resolved with a RecordedResolution (path → which one, from which
    # promotion, the digest of what it wrote, and both sides for the approver's diff).
    auto_resolutions = models.JSONField(default=dict, blank=True)
    # Which worker holds it, and until when; an expired lease means the worker died.
    claimed_by = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("approve_promotion", "Can approve or reject promotions")]
        indexes = [
            # The queue: the oldest waiting or running promotion per target.
            models.Index(fields=["target", "status", "id"], name="promotion_queue"),
            # The dispatcher: every waiting or running promotion.
            models.Index(
                fields=["status", "lease_until"],
                name="promotion_active",
                condition=Q(status__in=[PromotionStatus.QUEUED, PromotionStatus.RUNNING]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(source__isnull=True, direction__in=sorted(SOURCELESS))
                | (Q(source__isnull=False) & ~Q(direction__in=sorted(SOURCELESS))),
                name="promotion_source_matches_direction",
            ),
            models.CheckConstraint(
                condition=Q(rollback_of__isnull=False, direction=Direction.ROLLBACK)
                | (Q(rollback_of__isnull=True) & ~Q(direction=Direction.ROLLBACK)),
                name="promotion_rollback_names_its_promotion",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_direction_display().lower()} to {self.target}"

    def get_absolute_url(self) -> str:
        return reverse("promotion_detail", args=[self.pk])

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def can_retry(self) -> bool:
        return self.status in RETRYABLE

    @property
    def can_cancel(self) -> bool:
        return self.status in CANCELLABLE


class PromotionFeature(models.Model):
    """A feature in a promotion, in merge order, with the commit of it that is promoted."""

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="items")
    feature = models.ForeignKey(Feature, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    # The feature commit merged: the branch head when entering, else what the source holds.
    commit = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["promotion", "feature"], name="promotion_feature_once"),
        ]

    def __str__(self) -> str:
        return f"{self.feature.key} in #{self.promotion_id}"


class LogLevel(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class PromotionLog(models.Model):
    """The ordered execution log: who, when, what, from which commit to which (invariant 6)."""

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(auto_now_add=True)
    step = models.PositiveSmallIntegerField(choices=Step.choices, default=Step.NONE)
    level = models.CharField(max_length=10, choices=LogLevel.choices, default=LogLevel.INFO)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.TextField()
    from_commit = models.CharField(max_length=64, blank=True)
    to_commit = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.promotion_id} {self.message[:60]}"


class Decision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Approval(models.Model):
    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)
    # What was approved: the feature commits and the resolutions (`approvals.subject_of`), and
    # its digest, which the engine compares with the promotion's before it merges.
    digest = models.CharField(max_length=64, blank=True)
    subject = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.user} {self.decision} #{self.promotion_id}"


class FeaturePresence(models.Model):
    """Where a feature is: the commit of it that reached an instance, and by which promotion."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="presences")
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="presences")
    commit = models.CharField(max_length=64)
    promotion = models.ForeignKey(
        Promotion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["feature", "instance"], name="presence_once"),
        ]
        indexes = [
            # Instance pages and diagram counts: the features an instance holds.
            models.Index(fields=["instance", "feature"], name="presence_by_instance"),
        ]

    def __str__(self) -> str:
        return f"{self.feature.key} in {self.instance}"


class RecordedResolution(models.Model):
    """A conflict's resolution, recorded by the conflict itself the way git rerere does.

    `conflict_id` is rerere's: the SHA-1 over the conflict hunks, each normalised (its two
    sides in sorted order, the markers' labels stripped; `branching.git.rerere`). The preimage
    is the whole conflicted file normalised, the postimage the file as resolved. When the same
    conflict comes back at the same path of the same repository, the merge replays it.
    """

    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, related_name="recorded_resolutions"
    )
    path = models.CharField(max_length=1000)
    conflict_id = models.CharField(max_length=40)
    preimage = models.BinaryField()
    preimage_sha256 = models.CharField(max_length=64)
    postimage = models.BinaryField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    promotion = models.ForeignKey(
        Promotion,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recorded_resolutions",
        help_text="The promotion whose resolution this is.",
    )
    made_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    times_used = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["path", "id"]
        constraints = [
            # One resolution per variant of a conflict (rerere keeps variants whose
            # surroundings differ so much that one's resolution does not replay on the other).
            models.UniqueConstraint(
                fields=["repository", "path", "conflict_id", "preimage_sha256"],
                name="recorded_resolution_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["repository", "path", "conflict_id"], name="recorded_resolution_lookup"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.path} ({self.conflict_id[:10]})"

    def get_absolute_url(self) -> str:
        return reverse("recorded_resolution_detail", args=[self.repository_id, self.pk])
