"""Forms: saved query validation, the typed parameter form, the SQL console, reports."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from admin2 import charts
from admin2_analytics import engine, introspect
from admin2_analytics.errors import AnalyticsError, EngineUnavailable, ParameterError, QueryRefused
from admin2_analytics.guard import check_size
from admin2_analytics.models import Alert, SavedQuery, ScheduledReport, address_list
from admin2_analytics.parameters import bind, coerce, find_parameters

NUMERIC_TYPE = re.compile(r"^(Nullable\()?(U?Int\d+|Float\d+|Decimal.*|BFloat16)\)?$")


def parse_lines(text: str, what: str) -> dict[str, str]:
    """``name=value`` per line into a dict; the value may be empty and may contain ``=``."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValidationError(f"line {number}: write {what} as name=value, got {line!r}")
        if name in values:
            raise ValidationError(f"line {number}: {name} is given twice")
        values[name] = value.strip()
    return values


def format_lines(values: dict) -> str:
    return "\n".join(f"{name}={value}" for name, value in (values or {}).items())


class NameValueLinesField(forms.CharField):
    """A dict of text values edited as ``name=value`` lines."""

    def __init__(self, *, what="values", **kwargs):
        self.what = what
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "cols": 60}))
        super().__init__(strip=False, **kwargs)

    def prepare_value(self, value):
        return format_lines(value) if isinstance(value, dict) else value

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        return parse_lines(value or "", self.what)


class ColumnListField(forms.CharField):
    """A list of column names edited as comma-separated text."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        if isinstance(value, list):
            return value
        return [name.strip() for name in (value or "").split(",") if name.strip()]


def ordered_like_sql(sql: str, values: dict) -> dict:
    try:
        names = [parameter.name for parameter in find_parameters(sql)]
    except ParameterError:
        return values
    position = {name: index for index, name in enumerate(names)}
    return dict(sorted(values.items(), key=lambda item: position.get(item[0], len(names))))


def check_parameters(sql: str, values: dict[str, str], *, unknown_is_error: bool = True) -> dict:
    """The typed values for every placeholder of ``sql``; ValidationError lists all problems."""
    try:
        return bind(sql, values, unknown_is_error=unknown_is_error)
    except ParameterError as exc:
        raise ValidationError(exc.problems) from exc


def typed_parameters(form: forms.Form, sql_field: str, values_field: str) -> dict | None:
    """The SQL's size checked and its parameter values typed; None, with the error on the form's
    field, when either fails (or a field already failed)."""
    sql, values = form.cleaned_data.get(sql_field), form.cleaned_data.get(values_field)
    if not sql or values is None:
        return None
    try:
        check_size(sql)
    except QueryRefused as exc:
        form.add_error(sql_field, str(exc))
        return None
    try:
        return check_parameters(sql, values)
    except ValidationError as exc:
        form.add_error(values_field, exc)
        return None


class SavedQueryForm(forms.ModelForm):
    parameter_defaults = NameValueLinesField(
        what="defaults",
        label="Parameter defaults",
        help_text="One per line: name=value, for every {name:Type} placeholder in the SQL.",
    )
    chart_y = ColumnListField(
        required=False,
        label="Chart y columns",
        help_text="Numeric result columns, separated by commas.",
    )
    revision_message = forms.CharField(
        required=False,
        max_length=300,
        label="Revision message",
        help_text="Why this change (kept with the revision); empty: what changed.",
    )

    class Meta:
        model = SavedQuery
        fields = [
            "name",
            "description",
            "sql",
            "parameter_defaults",
            "shared",
            "cache_ttl_seconds",
            "chart_kind",
            "chart_x",
            "chart_y",
        ]
        widgets = {"sql": forms.Textarea(attrs={"rows": 12, "cols": 90, "class": "analytics-sql"})}

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        defaults = self.initial.get("parameter_defaults")
        if isinstance(defaults, dict) and self.instance.sql:
            # Show defaults in the order the SQL uses them (the database may sort JSON keys).
            self.initial["parameter_defaults"] = ordered_like_sql(self.instance.sql, defaults)

    def clean(self):
        cleaned = super().clean()
        typed = typed_parameters(self, "sql", "parameter_defaults")
        if typed is not None and self._judged(cleaned["sql"], typed):
            self._check_chart(cleaned, cleaned["sql"], typed)
        return cleaned

    def _tag(self) -> engine.QueryTag:
        return engine.QueryTag.for_user(self.user, "web", self.instance)

    def _judged(self, sql, typed) -> bool:
        """The guard's verdict on ClickHouse's own tree, with the defaults bound (nothing
        runs). An engine that cannot be reached now leaves the verdict to the run."""
        try:
            engine.prepare(sql, typed, tag=self._tag())
        except EngineUnavailable:
            return True
        except ParameterError as exc:
            self.add_error("parameter_defaults", str(exc))
            return False
        except QueryRefused as exc:
            self.add_error("sql", str(exc))
            return False
        except AnalyticsError as exc:
            self.add_error("sql", f"ClickHouse cannot run this query: {exc}")
            return False
        return True

    def _check_chart(self, cleaned, sql, typed):
        kind = charts.get(cleaned.get("chart_kind") or charts.NONE)
        if kind is None:
            return
        x, ys = cleaned.get("chart_x", ""), cleaned.get("chart_y") or []
        if self._chart_settings_fit(kind, x, ys):
            described = self._described_columns(sql, typed)
            if described is not None:
                self._check_chart_columns(x, ys, described)

    def _chart_settings_fit(self, kind, x: str, ys: list[str]) -> bool:
        if not x:
            self.add_error("chart_x", "A chart needs an x column.")
        if not ys:
            self.add_error("chart_y", "A chart needs at least one y column.")
        if x and x in ys:
            self.add_error("chart_y", f"{x} is already the x column.")
        if kind.max_ys is not None and len(ys) > kind.max_ys:
            self.add_error("chart_y", f"A {kind.label} chart takes {kind.max_ys} y column.")
        return not self.errors

    def _described_columns(self, sql, typed) -> dict[str, str] | None:
        """The result's column types, or None when they cannot be learnt now."""
        try:
            return introspect.result_columns(sql, typed, tag=self._tag())
        except EngineUnavailable:
            return None  # cannot check columns now; the run page explains a mismatch later
        except AnalyticsError as exc:
            self.add_error("sql", f"ClickHouse cannot run this query: {exc}")
            return None

    def _check_chart_columns(self, x: str, ys: list[str], described: dict[str, str]) -> None:
        known = ", ".join(described) or "none"
        for name in [x, *ys]:
            if name not in described:
                field = "chart_x" if name == x else "chart_y"
                self.add_error(field, f"The result has no column {name} (columns: {known}).")
        for name in ys:
            if name in described and not NUMERIC_TYPE.match(described[name]):
                self.add_error("chart_y", f"{name} is {described[name]}, not a number.")


def parameter_widget(parameter) -> forms.Widget:
    """A browser input that fits the placeholder's ClickHouse type."""
    kind = parameter.input_kind
    if kind == "date":
        return forms.DateInput(attrs={"type": "date"})
    if kind == "datetime":
        return forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"})
    if kind == "integer":
        attrs = {"type": "number", "step": "1"}
        if parameter.base_type.startswith("U"):
            attrs["min"] = "0"
        return forms.TextInput(attrs=attrs)
    if kind == "number":
        return forms.TextInput(attrs={"type": "number", "step": "any"})
    if kind == "boolean":
        return forms.Select(choices=[("true", "true"), ("false", "false")])
    if kind == "list":
        return forms.TextInput(attrs={"size": 40, "placeholder": "a, b, c"})
    return forms.TextInput(attrs={"size": 40})


class ParameterForm(forms.Form):
    """One typed input per ``{name:Type}`` placeholder; values stay text until coercion."""

    def __init__(self, parameters, defaults: dict[str, str], data=None):
        super().__init__(data=data)
        self.parameters = {parameter.name: parameter for parameter in parameters}
        for parameter in parameters:
            self.fields[parameter.name] = forms.CharField(
                label=parameter.name,
                required=False,
                strip=False,
                initial=defaults.get(parameter.name, ""),
                help_text=parameter.type,
                widget=parameter_widget(parameter),
            )
        self.typed: dict = {}

    def clean(self):
        cleaned = super().clean()
        for name, parameter in self.parameters.items():
            raw = cleaned.get(name, "")
            try:
                self.typed[name] = coerce(parameter, raw)
            except ParameterError as exc:
                self.add_error(name, str(exc))
        return cleaned

    def raw_values(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in self.parameters}


class ConsoleForm(forms.Form):
    sql = forms.CharField(
        label="SQL",
        strip=True,
        widget=forms.Textarea(attrs={"rows": 10, "cols": 100, "class": "analytics-sql"}),
    )
    params = NameValueLinesField(
        what="parameters",
        label="Parameters",
        help_text="For {name:Type} placeholders: one name=value per line.",
    )

    def clean(self):
        cleaned = super().clean()
        # Only the size here: the run itself is judged on ClickHouse's tree, so the console
        # parses each request once.
        typed = typed_parameters(self, "sql", "params")
        if typed is not None:
            self.typed = typed
        return cleaned


def check_fixed_parameters(form, cleaned) -> None:
    """The ``params`` of a report or alert, with the saved query's defaults, fit its SQL."""
    saved_query, params = cleaned.get("saved_query"), cleaned.get("params")
    if saved_query is not None and params is not None:
        try:
            check_parameters(saved_query.sql, {**saved_query.parameter_defaults, **params})
        except ValidationError as exc:
            form.add_error("params", exc)


def checked_recipients(text: str) -> str:
    """The addresses, one per line, once each is an address in an allowed mail domain."""
    from admin2_analytics.reports import allowed_domains, outside_allowed_domains

    addresses = address_list(text)
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(f"{address!r} is not an e-mail address") from None
    outside = outside_allowed_domains(addresses)
    if outside:
        raise ValidationError(
            f"{', '.join(outside)} {'is' if len(outside) == 1 else 'are'} outside the "
            f"allowed mail domains ({allowed_domains()})."
        )
    return "\n".join(addresses)


class RunsAsOwnerForm(forms.ModelForm):
    """A report or an alert: it runs as its owner and mails allowed recipients."""

    def __init__(self, *args, owner=None, **kwargs):
        """``owner``: whose permissions it runs with (the author of a new one)."""
        super().__init__(*args, **kwargs)
        self.owner = owner if owner is not None else getattr(self.instance, "owner", None)

    def clean_recipients(self):
        return checked_recipients(self.cleaned_data.get("recipients", ""))


class ScheduledReportForm(RunsAsOwnerForm):
    params = NameValueLinesField(
        what="parameters",
        label="Parameters",
        help_text="name=value per line; placeholders left out use the saved query's defaults.",
    )

    class Meta:
        model = ScheduledReport
        fields = [
            "name",
            "saved_query",
            "params",
            "format",
            "every",
            "interval",
            "at_time",
            "recipients",
            "store_to_media",
            "enabled",
        ]
        widgets = {"recipients": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def clean(self):
        cleaned = super().clean()
        self._check_owner()
        self._check_schedule(cleaned)
        if (
            "recipients" not in self.errors  # refused addresses are not "no recipients"
            and not cleaned.get("recipients")
            and not cleaned.get("store_to_media")
        ):
            self.add_error("recipients", "Give recipients, store to media, or both.")
        check_fixed_parameters(self, cleaned)
        return cleaned

    def _check_owner(self) -> None:
        from admin2_analytics.reports import EXPORT_PERMISSION

        # A report is an export that runs by itself: its owner must be allowed to export.
        if self.owner is None or not self.owner.has_perm(EXPORT_PERMISSION):
            self.add_error(
                None,
                "A scheduled report mails or keeps the query's results, so its owner needs "
                f"the permission to export saved queries ({EXPORT_PERMISSION}).",
            )

    def _check_schedule(self, cleaned) -> None:
        every = cleaned.get("every")
        if every == ScheduledReport.Every.DAILY and not cleaned.get("at_time"):
            self.add_error("at_time", "A daily report needs a time of day.")
        periodic = every in (ScheduledReport.Every.MINUTES, ScheduledReport.Every.HOURS)
        if periodic and not (cleaned.get("interval") or 0):
            self.add_error("interval", "The interval must be at least 1.")


class AlertForm(RunsAsOwnerForm):
    params = NameValueLinesField(
        what="parameters",
        label="Parameters",
        help_text="Fixed values, name=value per line; placeholders left out use the defaults.",
    )
    webhook_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Webhook URL",
        help_text="POSTed a JSON message; its host must be in ANALYTICS_ALERT_WEBHOOK_HOSTS.",
    )

    class Meta:
        model = Alert
        fields = [
            "name", "saved_query", "params", "condition", "column", "operator", "threshold",
            "every_minutes", "remind_every_minutes", "muted_until", "recipients", "webhook_url",
            "enabled",
        ]  # fmt: skip
        widgets = {"recipients": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def clean_webhook_url(self):
        from admin2_analytics.alerts import webhook_refusal

        url = self.cleaned_data.get("webhook_url", "")
        if url and (refusal := webhook_refusal(url)):
            raise ValidationError(refusal)
        return url

    def clean(self):
        from admin2_analytics.reports import EXPORT_PERMISSION

        cleaned = super().clean()
        if self.owner is None or not self.owner.has_perm(EXPORT_PERMISSION):
            self.add_error(
                None,
                "An alert sends values of the query's result, so its owner needs the "
                f"permission to export saved queries ({EXPORT_PERMISSION}).",
            )
        if cleaned.get("condition") == Alert.Condition.CELL and not cleaned.get("column"):
            self.add_error("column", "A cell value condition needs a column.")
        if cleaned.get("every_minutes") == 0:
            self.add_error("every_minutes", "Check at least every minute: 1 or more.")
        if not cleaned.get("recipients") and not cleaned.get("webhook_url"):
            self.add_error("recipients", "Give recipients, a webhook URL, or both.")
        check_fixed_parameters(self, cleaned)
        return cleaned
