"""Alembic environment of the feature store: migrations run on the connection radiome gives.

radiome runs them programmatically (:func:`radiome.cohort.schema.prepare`) inside its own
transaction; there is no ``alembic.ini``. A new revision is written with
``alembic.command.revision(radiome.cohort.schema.alembic_config(), message, rev_id=...)``.
"""

from __future__ import annotations

from alembic import context

from radiome.cohort.schema import metadata

context.configure(connection=context.config.attributes["connection"], target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
