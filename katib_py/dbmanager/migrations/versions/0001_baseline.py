"""Baseline: Katib's observation_logs table (created only if missing) and the (trial, metric, time) index.

A database that Katib's own db-manager created already has the table: it is kept as it is and
only the index is added.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from katib_py.dbmanager.schema import INDEX_NAME, TABLE_NAME, observation_logs, trial_metric_time_index

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    observation_logs.create(bind, checkfirst=True)
    existing = {ix["name"] for ix in sa.inspect(bind).get_indexes(TABLE_NAME)}
    if INDEX_NAME not in existing:
        trial_metric_time_index.create(bind)


def downgrade() -> None:
    op.drop_index(INDEX_NAME, table_name=TABLE_NAME)
