from odoo import _, api, fields, models
from odoo.tools import SQL

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
    # The engine
    # ------------------------------------------------------------------
    @api.model
    def _reclassify_company(self, company, run_date=None):
        run = super()._reclassify_company(company, run_date)
        # The run holds the company's lock already.
        self._write_cost_figures(company, run.date)
        if run.changed_count:
            self.env["kam.tier.history"]._fill_cost_figures(run)
        return run

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
        window ending on ``run_date``. One statement whatever the number of customers: it
        adds a row for customers with effort but no classification yet, and writes only the
        rows whose values change. Returns the number of rows written.
        """
        self._acquire_run_lock(company)
        return self._write_cost_figures(company, run_date)

    @api.model
    def _write_cost_figures(self, company, run_date):
        self.env["kam.account.fact"]._flush_sources()
        self.flush_model()
        self.env.cr.execute(self._cost_figures_sql(company, run_date))
        changed = self.env.cr.fetchone()[0]
        self.invalidate_model()
        self.env["res.partner"].invalidate_model()
        return changed

    @api.model
    def _cost_figures_sql(self, company, run_date):
        """The refresh: figures of the window, then rank, quadrant and flag, in one statement.

        Only customers with figures in the window are ranked and placed. The value line is a
        Pareto cut on gross margin, decided like the tiers (``above * 100 < line * total``: the
        customer that crosses the line is still high value); the effort line compares cost to
        serve with revenue multiplied out (``cost * 100 >= line * revenue``: reaching the line
        is high effort), and a customer with effort but no revenue is high effort. The
        disagreement flags compare the contribution rank with the 80/20 revenue rank.

        Everything is computed before writing, so that each row is written at most once, and
        the window functions sort narrow rows only.
        """
        date_from, date_to = self._window(company, run_date)
        digits = company.currency_id.decimal_places

        def ident(name, prefix=None):
            return SQL("%s.%s", SQL.identifier(prefix), SQL.identifier(name)) if prefix else SQL.identifier(name)

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
                """CASE WHEN f.cost_of_goods_from_orders = 0 AND f.cost_of_goods = 0 THEN NULL
                        WHEN f.cost_of_goods_from_orders = 0 THEN 'products'
                        WHEN f.cost_of_goods_from_orders = f.cost_of_goods THEN 'orders'
                        ELSE 'mixed' END"""
            ),
        }
        nullable = ("cost_share", "revenue_per_visit", "margin_source")
        assert set(figures) == set(COST_FIGURES)
        columns = (*COST_FIGURES, *COST_RANKING)
        now = fields.Datetime.now()

        def figure(name):
            return figures[name] if name in nullable else SQL("COALESCE(%s, 0)", figures[name])

        return SQL(
            """
            WITH f AS (%(figures)s),
            v AS (
                -- The current rows (a plain subquery, so that the planner knows their statistics)
                -- and the customers with effort but no row yet.
                SELECT COALESCE(k.partner_id, f.partner_id) AS partner_id, k.id, k.tier, k.rank AS revenue_rank,
                       %(v_values)s
                  FROM (SELECT id, partner_id, tier, rank FROM kam_classification WHERE company_id = %(company)s) k
                  FULL OUTER JOIN f ON f.partner_id = k.partner_id
                 WHERE k.id IS NOT NULL OR %(cost_to_serve)s <> 0 OR f.visit_count <> 0
            ),
            w AS (
                SELECT v.*,
                       (invoiced_revenue <> 0 OR cost_of_goods <> 0 OR cost_to_serve <> 0 OR visit_count <> 0)
                           AS ranked
                  FROM v
            ),
            windowed AS (
                SELECT w.*,
                       ROW_NUMBER() OVER (PARTITION BY ranked ORDER BY net_contribution DESC, partner_id)
                           AS position,
                       COUNT(*) OVER (PARTITION BY ranked) AS population,
                       COALESCE(SUM(gross_margin) FILTER (WHERE gross_margin > 0) OVER (
                           PARTITION BY ranked ORDER BY gross_margin DESC, partner_id
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS above,
                       SUM(gross_margin) FILTER (WHERE gross_margin > 0) OVER (PARTITION BY ranked) AS total
                  FROM w
            ),
            placed AS (
                SELECT windowed.*,
                       (gross_margin > 0 AND above * 100 < %(value_line)s * total) AS high_value,
                       (cost_to_serve > 0
                        AND (invoiced_revenue <= 0 OR cost_to_serve * 100 >= %(effort_line)s * invoiced_revenue))
                           AS high_effort
                  FROM windowed
            ),
            new AS (
                SELECT placed.*,
                       CASE WHEN ranked THEN position::int END AS contribution_rank,
                       CASE WHEN NOT ranked THEN NULL
                            WHEN high_value AND NOT high_effort THEN 'protect'
                            WHEN high_value THEN 'develop'
                            WHEN NOT high_effort THEN 'streamline'
                            ELSE 'restructure' END AS quadrant,
                       CASE WHEN NOT ranked THEN NULL
                            WHEN net_contribution < 0 AND tier = 'a' THEN 'loses_money'
                            WHEN net_contribution < 0 THEN 'costs_more_than_earns'
                            WHEN (position - revenue_rank) * 100 >= %(rank_gap)s * population THEN 'ranks_lower'
                            WHEN (revenue_rank - position) * 100 >= %(rank_gap)s * population THEN 'ranks_higher'
                            END AS ranking_flag
                  FROM placed
            ),
            ins AS (
                INSERT INTO kam_classification (
                    company_id, partner_id, revenue, share, runs_below, locked, lock_differs,
                    is_key_account, %(columns)s, create_uid, create_date, write_uid, write_date)
                SELECT %(company)s, new.partner_id, 0, 0, 0, false, false, false, %(new_columns)s,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM new
                 WHERE new.id IS NULL
                RETURNING id
            ),
            upd AS (
                UPDATE kam_classification k
                   SET %(assignments)s, write_uid = %(uid)s, write_date = %(now)s
                  FROM new
                 WHERE k.id = new.id AND (%(differ)s)
                RETURNING k.id
            )
            SELECT (SELECT count(*) FROM ins) + (SELECT count(*) FROM upd)
            """,
            figures=self.env["kam.account.fact"]._figures_sql(company, date_from, date_to),
            company=company.id,
            cost_to_serve=figures["cost_to_serve"],
            v_values=SQL(", ").join(SQL("%s AS %s", figure(name), ident(name)) for name in COST_FIGURES),
            value_line=company.kam_value_line,
            effort_line=company.kam_effort_line,
            rank_gap=company.kam_rank_gap,
            uid=self.env.uid,
            now=now,
            columns=SQL(", ").join(ident(name) for name in columns),
            new_columns=SQL(", ").join(ident(name, "new") for name in columns),
            assignments=SQL(", ").join(SQL("%s = %s", ident(name), ident(name, "new")) for name in columns),
            differ=SQL(" OR ").join(
                SQL("%s IS DISTINCT FROM %s", ident(name, "k"), ident(name, "new")) for name in columns
            ),
        )
