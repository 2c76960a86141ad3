"""factory_boy factories for the domain model."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from annotations.models import Document, LabelKind, LabelType, Layer, Membership, Project, Role
from annotations.services.projects import create_project


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery")


class ProjectFactory(factory.django.DjangoModelFactory):
    """A project with the news claims preset, made through the service."""

    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    overlap = 2

    @classmethod
    def _create(cls, model_class: type[Project], *args: object, **kwargs: object) -> Project:
        return create_project(**kwargs)  # type: ignore[arg-type]


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ANNOTATOR


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    project = factory.SubFactory(ProjectFactory)
    external_id = factory.Sequence(lambda n: f"doc-{n:04d}")
    text = "Saleh said he is still in Panjshir. TASS reported that he left."
    meta = factory.LazyFunction(dict)


class LayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Layer

    document = factory.SubFactory(DocumentFactory)
    annotator = factory.SubFactory(UserFactory)


STANCES = ["supports", "refutes", "neutral"]


class DocumentLabelTypeFactory(factory.django.DjangoModelFactory):
    """A document-level label: by default the article's stance, single choice."""

    class Meta:
        model = LabelType

    project = factory.SubFactory(ProjectFactory)
    name = "stance"
    kind = LabelKind.DOCUMENT
    choices = factory.LazyFunction(lambda: list(STANCES))
    multiple = False
