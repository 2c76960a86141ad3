"""The workbench's data: projects and their schema, documents, layers of spans, jobs.

Offsets are Unicode code points into ``Document.text``, half-open (``text[start:end]``).
Rules that need more than one row (a span's label belongs to the layer's project, a
quote matches the text) are enforced by the services; what one row can say about
itself is enforced here, in the database.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import F, Q

# Primary keys are bigints (DEFAULT_AUTO_FIELD): a larger number names no row.
MAX_ID = 2**63 - 1


class SubmitCheck(models.TextChoices):
    """What the annotation page asks about before a submit, when a project checks it."""

    EMPTY = "empty", "the layer is empty"
    UNLINKED = "unlinked", "a span that starts a link type (a claim) has no such link"


def default_submit_checks() -> list[str]:
    return [check.value for check in SubmitCheck]


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True, help_text="One paragraph for the project list.")
    guidelines = models.TextField(blank=True, help_text="Markdown, shown to annotators.")
    overlap = models.PositiveSmallIntegerField(
        default=2, help_text="How many annotators work on each document (k)."
    )
    blind = models.BooleanField(
        default=True, help_text="Annotators never see each other's spans, gold or agreement."
    )
    # An archived project is read-only and left out of the project list's active part.
    archived_at = models.DateTimeField(null=True, blank=True)
    # The SubmitCheck values the annotation page asks about before a submit.
    submit_checks = models.JSONField(default=default_submit_checks, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(overlap__gte=1), name="project_overlap_positive")
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    MANAGER = "manager"
    REVIEWER = "reviewer"
    ANNOTATOR = "annotator"


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "role", "user"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.project}"


class LabelKind(models.TextChoices):
    SPAN = "span"
    RELATION = "relation"
    DOCUMENT = "document"


class CatalogueKind(models.TextChoices):
    PROPOSITION = "proposition"
    SOURCE = "source"


class LabelType(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="label_types")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=LabelKind.choices, default=LabelKind.SPAN)
    description = models.TextField(blank=True)
    colour = models.CharField(max_length=7, default="#888888", help_text="#rrggbb")
    hotkey = models.CharField(max_length=1, blank=True)
    # {"polarity": ["positive", "negative", "neutral"]}: attribute name -> allowed values.
    attribute_schema = models.JSONField(default=dict, blank=True)
    # For relation labels: which span labels may stand at each end (null: any).
    head_label = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tail_label = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Span labels: may two spans of this label in one layer share a character?
    allow_overlap = models.BooleanField(default=True)
    # Document labels: the values a layer may give the document, and whether it may give
    # more than one of them.
    choices = models.JSONField(default=list, blank=True)
    multiple = models.BooleanField(default=False)
    # Span labels: the project catalogue a span of this label links to (blank: none),
    # whether a layer may be submitted with such a span unlinked, and (propositions) the
    # stances a text may take toward the proposition it states.
    catalogue = models.CharField(max_length=20, choices=CatalogueKind.choices, blank=True)
    link_required = models.BooleanField(default=False)
    stance_values = models.JSONField(default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["project", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="label_name_unique"),
            models.UniqueConstraint(
                fields=["project", "hotkey"], condition=~Q(hotkey=""), name="label_hotkey_unique"
            ),
            models.CheckConstraint(
                condition=Q(colour__regex=r"^#[0-9a-fA-F]{6}$"), name="label_colour_hex"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Document(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents")
    external_id = models.CharField(max_length=200)
    # Stored exactly as uploaded: offsets point into it, so it is never normalised.
    text = models.TextField()
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped by every reviewer decision (``ReviewDecision``): a stale one is refused (409).
    review_version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["project", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="document_external_id_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project.slug}/{self.external_id}"

    @property
    def heading(self) -> str:
        """What lists show beside the external id: the headline given at upload, or else the
        text's first non-blank line (an upload need not carry a headline)."""
        headline = str(self.meta.get("headline") or "").strip()
        return headline or self.text.lstrip().partition("\n")[0].strip()


class AssignmentStatus(models.TextChoices):
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    SKIPPED = "skipped"


class Assignment(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    status = models.CharField(
        max_length=20, choices=AssignmentStatus.choices, default=AssignmentStatus.ASSIGNED
    )
    skip_reason = models.TextField(blank=True)
    # Time spent on the document with its page focused and edits happening (not wall time).
    active_seconds = models.FloatField(default=0.0)
    assigned_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["document", "annotator"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "annotator"], name="one_assignment_per_annotator"
            )
        ]
        indexes = [models.Index(fields=["annotator", "status"], name="assignment_queue")]

    def __str__(self) -> str:
        return f"{self.document} -> {self.annotator} ({self.status})"


class LayerStatus(models.TextChoices):
    OPEN = "open"
    SUBMITTED = "submitted"


class Layer(models.Model):
    """One annotator's spans on one document, or the document's gold layer (no annotator)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="layers")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="layers",
    )
    is_gold = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=LayerStatus.choices, default=LayerStatus.OPEN)
    # Bumped by every write; a write carrying an older version is refused (409).
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Gold only: why it was marked final while candidates were still unsettled.
    final_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["document", "is_gold", "annotator"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "annotator"],
                condition=Q(annotator__isnull=False),
                name="one_layer_per_annotator",
            ),
            models.UniqueConstraint(
                fields=["document"], condition=Q(is_gold=True), name="one_gold_layer"
            ),
            models.CheckConstraint(
                condition=Q(is_gold=True, annotator__isnull=True)
                | Q(is_gold=False, annotator__isnull=False),
                name="layer_gold_xor_annotator",
            ),
        ]
        indexes = [models.Index(fields=["document", "status"], name="layer_document_status")]

    def __str__(self) -> str:
        owner = "gold" if self.is_gold else str(self.annotator)
        return f"{self.document} [{owner}]"


class Span(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="spans")
    label = models.ForeignKey(LabelType, on_delete=models.PROTECT, related_name="spans")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    attributes = models.JSONField(default=dict, blank=True)
    # The text the span covered when it was made: a later mismatch means drift.
    quote = models.TextField()
    # The catalogue entry this mention refers to (its label's catalogue), and the stance
    # of the text toward it (one of the label's stance values, for propositions).
    entry = models.ForeignKey(
        "CatalogueEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="mentions",
    )
    stance = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["layer", "start", "end", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(start__gte=0), name="span_start_non_negative"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="span_end_after_start"),
        ]
        indexes = [models.Index(fields=["layer", "start", "end"], name="span_layer_offsets")]

    def __str__(self) -> str:
        return f"{self.label.name} [{self.start}, {self.end})"


class SourceKind(models.TextChoices):
    PERSON = "person"
    OUTLET = "outlet"
    AGENCY = "agency"
    GOVERNMENT = "government"
    ANONYMOUS = "anonymous"


class EntryStatus(models.TextChoices):
    PROPOSED = "proposed"
    APPROVED = "approved"


class CatalogueEntry(models.Model):
    """One entry of a project catalogue: a proposition (a short canonical statement that
    claims in many documents make) or a source entity (who claims are attributed to).
    An annotator's proposal is seen by its author and the reviewers until approved."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="catalogue")
    kind = models.CharField(max_length=20, choices=CatalogueKind.choices)
    # Stable within the project: how the interchange format names the entry.
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=500)
    source_kind = models.CharField(max_length=20, choices=SourceKind.choices, blank=True)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=EntryStatus.choices, default=EntryStatus.APPROVED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "kind", "name", "id"]
        verbose_name_plural = "catalogue entries"
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="catalogue_key_unique"),
        ]
        indexes = [
            models.Index(fields=["project", "kind", "status"], name="catalogue_project_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Relation(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="relations")
    label = models.ForeignKey(LabelType, on_delete=models.PROTECT, related_name="relations")
    head = models.ForeignKey(Span, on_delete=models.CASCADE, related_name="outgoing")
    tail = models.ForeignKey(Span, on_delete=models.CASCADE, related_name="incoming")

    class Meta:
        ordering = ["layer", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(head=F("tail")), name="relation_not_reflexive"),
            models.UniqueConstraint(
                fields=["layer", "label", "head", "tail"], name="relation_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.head_id} -{self.label.name}-> {self.tail_id}"


class DocumentLabel(models.Model):
    """One value a layer gives its document for a document-level label (e.g. stance)."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="document_labels")
    label = models.ForeignKey(LabelType, on_delete=models.PROTECT, related_name="document_labels")
    value = models.CharField(max_length=200)

    class Meta:
        ordering = ["layer", "label", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["layer", "label", "value"], name="document_label_value_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label.name}={self.value}"


class Decision(models.TextChoices):
    ACCEPT = "accept"
    REJECT = "reject"


class ReviewDecision(models.Model):
    """A reviewer's accept or reject of one candidate of a document, shared by all reviewers.

    ``key`` names the candidate as the review page does: ``start:end:label`` for a span,
    ``link:type|head|tail`` (the ends' span keys) for a link. Undoing a decision deletes it.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="decisions")
    key = models.CharField(max_length=500)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["document", "key"]
        constraints = [
            models.UniqueConstraint(fields=["document", "key"], name="one_decision_per_candidate")
        ]

    def __str__(self) -> str:
        return f"{self.document} {self.key}: {self.decision}"


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Job(models.Model):
    """What a background job row holds for the users who poll it.

    ``attempts`` counts the claims of the row, and the number a claim reached is its token:
    a worker writes progress and results only while ``attempts`` still equals its token.
    ``heartbeat_at`` is the last sign of life: refreshed by the worker that runs the job,
    or set when a queued job's message was last published.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0.0, help_text="0 to 1.")
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class AgreementRun(Job):
    parameters = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["project", "-created_at"], name="agreement_run_recent")]

    def __str__(self) -> str:
        return f"agreement #{self.pk} of {self.project} ({self.status})"


class ExportJob(Job):
    format = models.CharField(max_length=20)
    options = models.JSONField(default=dict, blank=True)
    file = models.FileField(upload_to="exports/", blank=True)
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the file.")
    size = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["project", "-created_at"], name="export_job_recent")]

    def __str__(self) -> str:
        return f"{self.format} export #{self.pk} of {self.project} ({self.status})"


class ImportJob(Job):
    """An uploaded file, kept in storage until a worker has imported it (all or nothing)."""

    file = models.FileField(upload_to="imports/", max_length=500)
    filename = models.CharField(max_length=255, help_text="The name the file was uploaded with.")
    format = models.CharField(max_length=10, blank=True, help_text="Blank: from the file's name.")
    # {"assign_now": true}: what the user asked for besides the import itself.
    options = models.JSONField(default=dict, blank=True)
    # {"documents", "spans", "relations", "annotators", "created_users"} once it succeeded.
    result = models.JSONField(null=True, blank=True)
    # The first bad lines, [{"file", "line", "reason"}]; ``line_error_count`` counts them all.
    line_errors = models.JSONField(default=list, blank=True)
    line_error_count = models.PositiveIntegerField(default=0)

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["project", "-created_at"], name="import_job_recent")]

    def __str__(self) -> str:
        return f"import #{self.pk} of {self.filename} into {self.project} ({self.status})"


class ApiToken(models.Model):
    """A key that a script sends as ``Authorization: Token <key>``, one of its owner's.

    Only the key's SHA-256 is kept: whoever reads the database (or a backup of it) learns
    no key. A fast hash is enough, unlike for passwords: a key is 256 random bits, out of
    reach of guessing, and every API request checks one. The key is shown once, when it
    is made; its first characters (``prefix``) let its owner tell their keys apart.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the key, hex.")
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class Invitation(models.Model):
    """A single-use, expiring link that lets a new person join a project with a role.

    Only the SHA-256 of the link's key is kept, as for API tokens; whoever accepts it sets
    their own password, so a manager never sees one.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=20, choices=Role.choices)
    email = models.EmailField(blank=True)
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the key, hex.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["project", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"invitation to {self.project} as {self.role}"


class AuditEvent(models.Model):
    """Who created, changed or deleted what, and when; written by the services."""

    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["project", "-at"], name="audit_project_recent"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}"
