from odoo.tests import tagged
from odoo.tools import SQL

from ..tools import kpi_statement
from .kpi_common import KpiCommon

# Stored fields of a snapshot that no KPI family computes: the row's key and the ORM's own.
NOT_COMPUTED = {"id", "company_id", "date", "create_uid", "create_date", "write_uid", "write_date"}
# Stored fields the upsert sets itself, from the other days' rows.
SET_BY_THE_UPSERT = {"is_latest", "is_month_end"}


@tagged("post_install", "-at_install")
class TestKpiStatement(KpiCommon):
    """The daily statement is assembled from one builder per KPI family (tools/kpi_statement.py)."""

    def test_every_stored_kpi_is_computed_and_written(self):
        """A stored KPI that no family computes, or that the upsert does not write, would stay
        empty on every card: the statement's row has a column for each, and the upsert lists
        each."""
        stored = {name for name, field in self.Snapshot._fields.items() if field.store} - NOT_COMPUTED
        self.assertEqual(set(kpi_statement.KPI_COLUMNS), stored)
        self.env.cr.execute(self.Snapshot._kpi_select_sql(self.company, self.day))
        columns = [column.name for column in self.env.cr.description]
        self.assertEqual(len(columns), len(set(columns)), "no two families give the same column")
        self.assertEqual(stored - set(columns), SET_BY_THE_UPSERT)

    def test_one_family_alone(self):
        """A family's builder reads its own sources: the pipeline family, joined to the scope
        alone, gives the anchor account's open, weighted, won and lost opportunities."""
        day = kpi_statement.KpiDay(self.env, self.company, self.day, {})
        family = kpi_statement.pipeline(day)
        kpi_statement.flush_sources(self.env)
        self.env.cr.execute(
            SQL(
                """
                WITH scope AS (SELECT k.partner_id, k.tier, k.manager_id FROM kam_classification k
                                WHERE k.company_id = %s AND k.partner_id = %s),
                     %s
                SELECT %s FROM scope s %s
                """,
                self.company.id,
                self.anchor.id,
                SQL(", ").join(family.ctes),
                SQL(", ").join(family.columns),
                SQL(" ").join(family.joins),
            )
        )
        self.assertEqual(self.env.cr.fetchall(), [(1000, 500, 1, 700, 1)])
