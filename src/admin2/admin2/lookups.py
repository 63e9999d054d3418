"""An ORM lookup Django lacks: ``__in`` on integer columns with values out of their range."""

from __future__ import annotations

from django.db.models import IntegerField
from django.db.models.lookups import In


@IntegerField.register_lookup
class IntegerFieldIn(In):
    """Values outside the column's range cannot match a row: leave them out of the query.

    Django guards ``exact``, ``gt`` and ``lt`` against out-of-range integers but not ``in``,
    and SQLite then raises OverflowError: a 500 for an admin form posted with a huge id in a
    many-to-many field (tests/fuzz/test_admin_forms.py). PostgreSQL answers "no rows"; with
    this lookup both backends do.
    """

    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            low, high = connection.ops.integer_field_range(
                self.lhs.output_field.get_internal_type()
            )
            self.rhs = [
                value
                for value in self.rhs
                if not isinstance(value, int)
                or ((low is None or value >= low) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)
