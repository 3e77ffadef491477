"""The regulators' form for a data source. It parses; history.sources.registry decides (the schemas
through the same validator as the API's), and its refusals go next to the fields they name."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.models import Department
from core.names import person_name
from history.models import DataSource
from history.sources import SCHEMA_HELP, owner_candidates
from history.sources.registry import MAX_BATCH_ROWS, MAX_RATE


class OwnerField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{person_name(obj)} ({obj.get_username()})"


class SchemaField(forms.JSONField):
    """A JSON object in a text area; empty means none ({})."""

    def __init__(self, **kwargs):
        super().__init__(
            required=False,
            initial=dict,
            widget=forms.Textarea(attrs={"rows": 10, "class": "mono", "spellcheck": "false"}),
            help_text=SCHEMA_HELP,
            **kwargs,
        )

    def to_python(self, value):
        parsed = super().to_python(value)
        return {} if parsed in (None, "") else parsed


class SourceForm(forms.Form):
    code = forms.SlugField(
        label=_("Code"),
        max_length=40,
        help_text=_("The source column of its files; it cannot be changed later."),
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    name_en = forms.CharField(label=_("English name"), max_length=100, required=False)
    kind = forms.ChoiceField(label=_("Kind of source"), choices=DataSource.Kind.choices)
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.order_by("code"), required=False
    )
    owner = OwnerField(label=_("Owner at the platform"), queryset=owner_candidates(), required=False)
    business_key = forms.ChoiceField(label=_("Business key"), choices=DataSource.BusinessKey.choices)
    attribute_schema = SchemaField(label=_("Attributes it may send"))
    signal_schema = SchemaField(label=_("Signals it may send"))
    rate_limit_per_minute = forms.IntegerField(
        label=_("Batches per minute"), min_value=1, max_value=MAX_RATE, initial=30
    )
    max_batch_rows = forms.IntegerField(
        label=_("Rows per batch"), min_value=1, max_value=MAX_BATCH_ROWS, initial=10_000
    )
    active = forms.BooleanField(label=_("Accepts data"), required=False, initial=True)

    def __init__(self, *args, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["code"]

    @classmethod
    def initial_of(cls, source: DataSource) -> dict:
        return {
            "name": source.name,
            "name_en": source.name_en,
            "kind": source.kind,
            "department": source.department_id,
            "owner": source.owner_id,
            "business_key": source.business_key,
            "attribute_schema": source.attribute_schema,
            "signal_schema": source.signal_schema,
            "rate_limit_per_minute": source.rate_limit_per_minute,
            "max_batch_rows": source.max_batch_rows,
            "active": source.active,
        }
