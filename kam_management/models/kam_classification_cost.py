from odoo import _, api, fields, models
from odoo.tools import SQL

from ..tools.large_statement import large_statement

QUADRANTS = [
    ("protect", "Protect"),
    ("develop", "Develop"),
    ("streamline", "Streamline"),
    ("restructure", "Restructure"),
]
RANKING_FLAGS = [
    ("loses_money", "Key account losing money"),
    ("costs_more_than_earns", "Costs more to serve than it earns"),
    ("ranks_lower", "Ranks far lower by contribution"),
    ("ranks_higher", "Ranks far higher by contribution"),
]
MARGIN_SOURCES = [
    ("orders", "Sales order costs"),
    ("products", "Product costs"),
    ("mixed", "Sales order and product costs"),
]

# The figures of ``_figures_sql`` kept on each row; the names are those of its columns.
COST_FIGURES = (
    "invoiced_revenue",
    "cost_of_goods",
    "gross_margin",
    "visit_cost",
    "other_cost",
    "cost_to_serve",
    "net_contribution",
    "visit_count",
    "visit_hours",
    "cost_share",
    "revenue_per_visit",
    "margin_source",
)
COST_RANKING = ("quadrant", "contribution_rank", "ranking_flag")
# The figures that stay empty for a customer without any (no revenue, no visit, no cost source).
NULLABLE_FIGURES = ("cost_share", "revenue_per_visit", "margin_source")


class KamClassification(models.Model):
    """Cost to serve of each classified customer over the classification window.

    The figures come from ``kam.account.fact._figures_sql`` and are refreshed, set-based,
    at the end of every reclassification run and on demand.
    """

    _inherit = "kam.classification"

    invoiced_revenue = fields.Monetary(
        readonly=True,
        currency_field="currency_id",
        aggregator="sum",
        help="Untaxed invoiced revenue in the window, the base of the margin and cost figures.",
    )
    cost_of_goods = fields.Monetary(
        string="Cost of goods", readonly=True, currency_field="currency_id", aggregator="sum"
    )
    gross_margin = fields.Monetary(readonly=True, currency_field="currency_id", aggregator="sum")
    margin_source = fields.Selection(
        MARGIN_SOURCES,
        string="Cost of goods from",
        readonly=True,
        help="Where the cost of goods comes from: the cost on the sales order lines the invoices "
        "were made from (sale margin), or the product's cost for lines invoiced without an order.",
    )
    visit_cost = fields.Monetary(string="Cost of visits", readonly=True, currency_field="currency_id", aggregator="sum")
    other_cost = fields.Monetary(
        string="Other costs to serve", readonly=True, currency_field="currency_id", aggregator="sum"
    )
    cost_to_serve = fields.Monetary(readonly=True, currency_field="currency_id", aggregator="sum")
    net_contribution = fields.Monetary(
        readonly=True,
        currency_field="currency_id",
        aggregator="sum",
        help="Gross margin minus cost to serve.",
    )
    visit_count = fields.Integer(string="Visits done", readonly=True, aggregator="sum")
    visit_hours = fields.Float(string="Hours spent", readonly=True, aggregator="sum")
    cost_share = fields.Float(
        string="Cost to serve (% of revenue)",
        readonly=True,
        aggregator="avg",
        help="Cost to serve as a share of invoiced revenue; empty when there is no revenue.",
    )
    revenue_per_visit = fields.Monetary(readonly=True, currency_field="currency_id", aggregator="avg")
    quadrant = fields.Selection(
        QUADRANTS,
        readonly=True,
        help="Value against effort. High value: the customers that together make the company's "
        "value line of the gross margin. High effort: cost to serve at or above the effort line "
        "(a share of revenue).",
    )
    contribution_rank = fields.Integer(readonly=True, aggregator="min", help="Rank by net contribution.")
    ranking_flag = fields.Selection(
        RANKING_FLAGS,
        string="Ranking warning",
        readonly=True,
        help="Where the ranking by net contribution disagrees sharply with the ranking by revenue.",
    )

    # ------------------------------------------------------------------
    # The engine: the figures are computed in the same statement as the tiers
    # ------------------------------------------------------------------
    @api.model
    def _stage_sources(self, company, date_from, date_to):
        """Aggregate ``_figures_sql`` once per run: the tiers rank its revenue (invoice source).

        The figures' revenue is, by definition, what the invoice source of the classification
        counts, so the invoices are summed once for both. The contribution ranking sorts the
        narrow rows of the figures before they meet the classification rows; customers with
        effort but no classification join the run, and every row gets its figures before it
        is written.
        """
        sources = super()._stage_sources(company, date_from, date_to)
        if self._without_cost_figures():
            return sources
        values = self._cost_figure_values(company)
        sources["ctes"].insert(
            0, SQL("f AS MATERIALIZED (%s)", self.env["kam.account.fact"]._figures_sql(company, date_from, date_to))
        )
        if company.kam_revenue_source == "sale_order":
            ranked = SQL("f.partner_id IN (SELECT partner_id FROM ranked)")
        else:
            sources["revenue"] = SQL("SELECT partner_id, revenue FROM f")
            ranked = SQL("f.revenue > 0")
        in_scope = SQL("(c.partner_id IS NOT NULL OR %s OR %s)", ranked, self._cost_effort_sql(values))
        sources["after"].append(SQL("fc AS (%s)", self._cost_windows_sql(company, values, in_scope)))
        sources["joins"].append(SQL("FULL JOIN fc ON fc.partner_id = COALESCE(k.partner_id, n.partner_id)"))
        sources["keys"].append(SQL("fc.partner_id"))
        sources["keep"].append(SQL("fc.in_scope"))
        sources["columns"].extend(self._cost_columns_sql(values))
        return sources

    @api.model
    def _flush_stage_sources(self, company):
        if not self._without_cost_figures():
            self.env["kam.account.fact"]._flush_sources()
        return super()._flush_stage_sources(company)

    @api.model
    def _stage_finish(self, company, source):
        """Place and flag the customers by contribution, against their new tier and rank."""
        if self._without_cost_figures():
            return super()._stage_finish(company, source)
        return SQL(
            "SELECT x.*, %s FROM (%s) x",
            SQL(", ").join(
                SQL("%s AS %s", value, SQL.identifier(name))
                for name, value in self._cost_placement_sql(company).items()
            ),
            super()._stage_finish(company, source),
        )

    @api.model
    def _stage_columns(self):
        if self._without_cost_figures():
            return super()._stage_columns()
        return (*super()._stage_columns(), *COST_FIGURES, *COST_RANKING)

    def _without_cost_figures(self):
        """Context ``kam_without_cost_figures``: a run that leaves the cost figures alone (the
        preview of a reclassification, which only lists tier changes)."""
        return bool(self.env.context.get("kam_without_cost_figures"))

    @api.model
    def action_refresh_cost_to_serve(self):
        """Refresh the cost figures of the selected companies now (directors)."""
        self.check_access("write")
        today = fields.Date.context_today(self)
        changed = sum(self._refresh_cost_to_serve(company, today) for company in self.env.companies)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("Cost figures refreshed"),
                "message": _("%(count)s customers have new cost-to-serve figures.", count=changed),
                "next": self.env["ir.actions.actions"]._for_xml_id("kam_management.kam_classification_action_cost"),
            },
        }

    @api.model
    def _refresh_cost_to_serve(self, company, run_date):
        """Recompute the cost figures, quadrant, contribution rank and flag of ``company``.

        The figures are those of ``kam.account.fact._figures_sql`` over the classification
        window ending on ``run_date``; the tiers and revenue ranks stay those of the last run
        (a reclassification computes the figures itself). One statement whatever the number
        of customers: it adds a row for customers with effort but no classification yet, and
        writes only the rows whose values change. Returns the number of rows written.
        """
        self._acquire_run_lock(company)
        return self._write_cost_figures(company, run_date)

    @api.model
    def _write_cost_figures(self, company, run_date):
        self.env["kam.account.fact"]._flush_sources()
        self.flush_model()
        with large_statement(self.env.cr):
            self.env.cr.execute(self._cost_figures_sql(company, run_date))
            changed = self.env.cr.fetchone()[0]
        self.invalidate_model()
        self.env["res.partner"].invalidate_model()
        return changed

    @api.model
    def _cost_figure_values(self, company):
        """The stored figures as SQL expressions over a row ``f`` of ``_figures_sql``.

        ``{column: expression}`` in the order of ``COST_FIGURES``; a customer without figures
        gets 0, except for the figures that have no meaning then (share, per visit, source).
        """
        digits = company.currency_id.decimal_places

        def money(column):
            return SQL("ROUND(f.%s, %s)", SQL.identifier(column), digits)

        figures = {
            "invoiced_revenue": money("revenue"),
            "cost_of_goods": money("cost_of_goods"),
            "gross_margin": money("gross_margin"),
            "visit_cost": money("visit_cost"),
            "other_cost": money("other_cost"),
            "cost_to_serve": money("cost_to_serve"),
            "net_contribution": money("net_contribution"),
            "visit_count": SQL("f.visit_count"),
            "visit_hours": SQL("ROUND(f.visit_hours::numeric, 2)::float8"),
            "cost_share": SQL("CASE WHEN f.revenue > 0 THEN ROUND(f.cost_to_serve * 100 / f.revenue, 2)::float8 END"),
            "revenue_per_visit": SQL(
                "CASE WHEN f.visit_count > 0 THEN ROUND(f.revenue / f.visit_count, %s) END", digits
            ),
            "margin_source": SQL(
                """CASE WHEN COALESCE(f.cost_of_goods_from_orders, 0) = 0 AND COALESCE(f.cost_of_goods, 0) = 0 THEN NULL
                        WHEN f.cost_of_goods_from_orders = 0 THEN 'products'
                        WHEN f.cost_of_goods_from_orders = f.cost_of_goods THEN 'orders'
                        ELSE 'mixed' END"""
            ),
        }
        assert set(figures) == set(COST_FIGURES)
        return {
            name: figures[name] if name in NULLABLE_FIGURES else SQL("COALESCE(%s, 0)", figures[name])
            for name in COST_FIGURES
        }

    @api.model
    def _cost_effort_sql(self, values):
        """True for a customer with effort in the window (it gets a row even without revenue)."""
        return SQL("(%s <> 0 OR %s <> 0)", values["cost_to_serve"], values["visit_count"])

    @api.model
    def _cost_ranking_windows(self):
        """The contribution ranking, as window columns over rows with ``partner_id``,
        ``has_figures``, ``net_contribution`` and ``gross_margin``.

        Only customers with figures in the window (``has_figures``) are ranked
        (``cost_position`` among ``cost_population``); ``margin_above`` and ``margin_total``
        place them against the value line (``_cost_levels``).
        """
        return SQL(
            """ROW_NUMBER() OVER (PARTITION BY has_figures ORDER BY net_contribution DESC, partner_id)
                   AS cost_position,
               COUNT(*) OVER (PARTITION BY has_figures) AS cost_population,
               COALESCE(SUM(gross_margin) FILTER (WHERE gross_margin > 0) OVER (
                   PARTITION BY has_figures ORDER BY gross_margin DESC, partner_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS margin_above,
               SUM(gross_margin) FILTER (WHERE gross_margin > 0) OVER (PARTITION BY has_figures) AS margin_total"""
        )

    @api.model
    def _cost_levels(self, company):
        """``high_value``: the customers that together make the value line of the gross margin,
        decided like the tiers (``above * 100 < line * total``: the customer that crosses the
        line is still high value); ``high_effort``: a cost to serve at or above the effort line
        of revenue, multiplied out (reaching the line is high effort), or effort without
        revenue. Over rows with the figures and the columns of ``_cost_ranking_windows``."""
        return SQL(
            """(gross_margin > 0 AND margin_above * 100 < %(value_line)s * margin_total) AS high_value,
               (cost_to_serve > 0
                AND (invoiced_revenue <= 0 OR cost_to_serve * 100 >= %(effort_line)s * invoiced_revenue))
                   AS high_effort""",
            value_line=company.kam_value_line,
            effort_line=company.kam_effort_line,
        )

    @api.model
    def _cost_has_figures_sql(self, values):
        """True for a customer with any figure in the window (the only ones ranked and placed)."""
        return SQL(
            "(%s <> 0 OR %s <> 0 OR %s <> 0 OR %s <> 0)",
            values["invoiced_revenue"],
            values["cost_of_goods"],
            values["cost_to_serve"],
            values["visit_count"],
        )

    @api.model
    def _cost_windows_sql(self, company, values, in_scope):
        """The engine's rows of ``f`` (``_figures_sql``) with their figures (``values``) and
        their contribution ranking.

        ``in_scope`` says which customers take part (they have or get a classification row;
        ``c.partner_id`` is set for those that have one); ``has_figures`` is true for those
        of them with any figure in the window. The window functions sort narrow rows, then the
        figures join them: the engine's rows are wide.
        """
        return SQL(
            """
            SELECT x.*, %(levels)s
              FROM (
                SELECT f.partner_id, %(values)s, r.in_scope, r.has_figures, r.cost_position, r.cost_population,
                       r.margin_above, r.margin_total
                  FROM f
                  JOIN (
                    SELECT w.*, %(windows)s
                      FROM (
                        SELECT f.partner_id, %(in_scope)s AS in_scope,
                               (%(in_scope)s AND %(has_figures)s) AS has_figures,
                               %(net_contribution)s AS net_contribution, %(gross_margin)s AS gross_margin
                          FROM f
                          -- A full join is always hashed: f's row count is unknown to the planner.
                          -- Rows without f fall out when the figures join back.
                          FULL JOIN (SELECT partner_id FROM kam_classification WHERE company_id = %(company)s) c
                                 ON c.partner_id = f.partner_id
                      ) w
                  ) r ON r.partner_id = f.partner_id
              ) x
            """,
            levels=self._cost_levels(company),
            values=SQL(", ").join(SQL("%s AS %s", value, SQL.identifier(name)) for name, value in values.items()),
            windows=self._cost_ranking_windows(),
            in_scope=in_scope,
            has_figures=self._cost_has_figures_sql(values),
            net_contribution=values["net_contribution"],
            gross_margin=values["gross_margin"],
            company=company.id,
        )

    @api.model
    def _cost_columns_sql(self, values):
        """``fc``'s figures as columns of a classification row (0 when it has none)."""
        return (
            [
                SQL("fc.%s AS %s", SQL.identifier(name), SQL.identifier(name))
                if name in NULLABLE_FIGURES
                else SQL("COALESCE(fc.%s, 0) AS %s", SQL.identifier(name), SQL.identifier(name))
                for name in values
            ]
            + [
                SQL("COALESCE(fc.%s, false) AS %s", SQL.identifier(name), SQL.identifier(name))
                for name in ("has_figures", "high_value", "high_effort")
            ]
            + [SQL("fc.cost_position, fc.cost_population")]
        )

    @api.model
    def _cost_placement_sql(self, company):
        """``COST_RANKING`` as expressions over a row with the columns of ``_cost_columns_sql``
        and its 80/20 ``tier`` and ``rank``: the flags compare the contribution rank with the
        revenue rank, and a key account losing money is flagged as such."""
        return {
            "quadrant": SQL(
                """CASE WHEN NOT has_figures THEN NULL
                        WHEN high_value AND NOT high_effort THEN 'protect'
                        WHEN high_value THEN 'develop'
                        WHEN NOT high_effort THEN 'streamline'
                        ELSE 'restructure' END"""
            ),
            "contribution_rank": SQL("CASE WHEN has_figures THEN cost_position::int END"),
            "ranking_flag": SQL(
                """CASE WHEN NOT has_figures THEN NULL
                        WHEN net_contribution < 0 AND tier = 'a' THEN 'loses_money'
                        WHEN net_contribution < 0 THEN 'costs_more_than_earns'
                        WHEN (cost_position - rank) * 100 >= %(rank_gap)s * cost_population THEN 'ranks_lower'
                        WHEN (rank - cost_position) * 100 >= %(rank_gap)s * cost_population THEN 'ranks_higher'
                        END""",
                rank_gap=company.kam_rank_gap,
            ),
        }

    @api.model
    def _cost_figures_sql(self, company, run_date):
        """The refresh on demand: the figures of the window joined to the current rows, then
        their contribution ranking and their placement against the current tiers and ranks,
        then the writes, in one statement.

        Everything is computed before writing, so that each row is written at most once, and
        the window functions sort narrow rows only.
        """
        date_from, date_to = self._window(company, run_date)
        values = self._cost_figure_values(company)
        columns = (*COST_FIGURES, *COST_RANKING)

        def ident(name, prefix=None):
            return SQL("%s.%s", SQL.identifier(prefix), SQL.identifier(name)) if prefix else SQL.identifier(name)

        return SQL(
            """
            WITH f AS (%(figures)s),
            v AS (
                -- The current rows (a plain subquery, so that the planner knows their statistics)
                -- and the customers with effort but no row yet.
                SELECT COALESCE(k.partner_id, f.partner_id) AS partner_id, k.id, k.tier, k.rank, %(values)s
                  FROM (SELECT id, partner_id, tier, rank FROM kam_classification WHERE company_id = %(company)s) k
                  FULL OUTER JOIN f ON f.partner_id = k.partner_id
                 WHERE k.id IS NOT NULL OR %(effort)s
            ),
            new AS (
                SELECT placed.*, %(placement)s
                  FROM (
                    SELECT windowed.*, %(levels)s
                      FROM (
                        SELECT w.*, %(windows)s
                          FROM (SELECT v.*, %(has_figures)s AS has_figures FROM v) w
                      ) windowed
                  ) placed
            ),
            ins AS (
                INSERT INTO kam_classification (
                    company_id, partner_id, revenue, share, runs_below, locked, lock_differs,
                    is_key_account, %(columns)s)
                SELECT %(company)s, new.partner_id, 0, 0, 0, false, false, false, %(new_columns)s
                  FROM new
                 WHERE new.id IS NULL
                RETURNING id
            ),
            upd AS (
                UPDATE kam_classification k
                   SET %(assignments)s
                  FROM new
                 WHERE k.id = new.id AND (%(differ)s)
                RETURNING k.id
            )
            SELECT (SELECT count(*) FROM ins) + (SELECT count(*) FROM upd)
            """,
            figures=self.env["kam.account.fact"]._figures_sql(company, date_from, date_to),
            values=SQL(", ").join(SQL("%s AS %s", value, ident(name)) for name, value in values.items()),
            company=company.id,
            effort=self._cost_effort_sql(values),
            placement=SQL(", ").join(
                SQL("%s AS %s", value, ident(name)) for name, value in self._cost_placement_sql(company).items()
            ),
            levels=self._cost_levels(company),
            windows=self._cost_ranking_windows(),
            has_figures=self._cost_has_figures_sql({name: ident(name, "v") for name in values}),
            columns=SQL(", ").join(ident(name) for name in columns),
            new_columns=SQL(", ").join(ident(name, "new") for name in columns),
            assignments=SQL(", ").join(SQL("%s = %s", ident(name), ident(name, "new")) for name in columns),
            differ=SQL(" OR ").join(
                SQL("%s IS DISTINCT FROM %s", ident(name, "k"), ident(name, "new")) for name in columns
            ),
        )
