"""A migration operation of ours: indexes Django made for a field, dropped without touching the table.

``Field(unique=True)`` on PostgreSQL makes two indexes, the unique one and a second for
``LIKE 'prefix%'`` (``varchar_pattern_ops``, suffix ``_like``); a foreign key makes one on its
column. Where no query needs the second (a hash, a number looked up whole) or another index
begins with the column, every insert still pays for it. Changed in the model (a ``UniqueConstraint``
instead of ``unique=True``, ``db_index=False``), Django's own ``AlterField`` would remake the table
on SQLite and rebuild the unique index on PostgreSQL; this drops just those indexes, by the names
Django gave them, in a ``SeparateDatabaseAndState`` beside the model's state operations, and makes
them again when the migration is reversed.
"""

from __future__ import annotations

from django.db.migrations.operations.base import Operation

LIKE = "_like"


class DropFieldIndexes(Operation):
    """Drop the index of each ``(field name, suffix)`` of ``model_name``: suffix ``""`` the
    field's own index (``db_index``, a foreign key's), ``"_like"`` its PostgreSQL LIKE index
    (none on other databases). Changes no state: pair it with the model's state operations."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, indexes: list[tuple[str, str]]):
        self.model_name = model_name
        self.indexes = indexes

    def deconstruct(self):
        return self.__class__.__name__, [self.model_name, self.indexes], {}

    def state_forwards(self, app_label, state):
        pass

    def _applies(self, schema_editor, suffix: str) -> bool:
        return suffix != LIKE or schema_editor.connection.vendor == "postgresql"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        table = model._meta.db_table
        for name, suffix in self.indexes:
            if self._applies(schema_editor, suffix):
                column = model._meta.get_field(name).column
                index = schema_editor._create_index_name(table, [column], suffix=suffix)
                schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index)}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)  # as it was, with the indexes
        for name, suffix in self.indexes:
            if self._applies(schema_editor, suffix):
                field = model._meta.get_field(name)
                if suffix == LIKE:
                    schema_editor.execute(schema_editor._create_like_index_sql(model, field))
                else:
                    schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))

    def describe(self):
        return f"Drop the indexes {self.indexes} of {self.model_name}"
