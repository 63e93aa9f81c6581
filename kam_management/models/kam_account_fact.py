from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..const import QUADRANTS, TIERS

# Measures of every source row, in this order; a source that does not produce one says 0.
_MEASURES = (
    ("revenue", "numeric"),
    ("cost_of_goods", "numeric"),
    ("cost_of_goods_from_orders", "numeric"),
    ("visit_cost", "numeric"),
    ("other_cost", "numeric"),
    ("visit_count", "bigint"),
    ("visit_hours", "float8"),
)


class KamAccountFact(models.Model):
    """Cost-to-serve analysis: value and effort per company, customer, month and salesperson.

    A read-only SQL view over the same source statements as ``_figures_sql``, so that the
    pivot, the partner figures and the classification can never disagree. Tier, quadrant and
    manager are the customer's current ones, not those of the month.
    """

    _name = "kam.account.fact"
    _description = "Cost-to-serve analysis"
    _auto = False
    _order = "date desc, partner_id"
    _rec_name = "partner_id"

    company_id = fields.Many2one("res.company", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    date = fields.Date(string="Month", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    manager_id = fields.Many2one("res.users", string="Key Account Manager", readonly=True)
    tier = fields.Selection(TIERS, readonly=True)
    quadrant = fields.Selection(QUADRANTS, readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    revenue = fields.Monetary(currency_field="currency_id", readonly=True)
    cost_of_goods = fields.Monetary(string="Cost of goods", currency_field="currency_id", readonly=True)
    gross_margin = fields.Monetary(currency_field="currency_id", readonly=True)
    visit_cost = fields.Monetary(string="Cost of visits", currency_field="currency_id", readonly=True)
    other_cost = fields.Monetary(string="Other costs to serve", currency_field="currency_id", readonly=True)
    cost_to_serve = fields.Monetary(string="Cost to serve", currency_field="currency_id", readonly=True)
    net_contribution = fields.Monetary(currency_field="currency_id", readonly=True)
    visit_count = fields.Integer(string="Visits done", readonly=True)
    visit_hours = fields.Float(string="Hours spent", readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(SQL("CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._view_sql()))

    # ------------------------------------------------------------------
    # The one definition of the figures
    # ------------------------------------------------------------------
    @api.model
    def _figures_sql(self, company, date_from, date_to):
        """Value and effort of each customer of ``company`` from ``date_from`` to ``date_to``.

        Returns an ``odoo.tools.SQL`` SELECT, one row per commercial entity with any figure in
        the range (both dates included), all amounts in company currency:

        - ``partner_id``: the commercial entity (contacts roll up to their company);
        - ``revenue``: untaxed posted customer invoices minus credit notes, by invoice date
          (``amount_untaxed_signed``), exactly what the 80/20 classification counts with
          its invoice source;
        - ``cost_of_goods``: for invoice lines made from sales order lines, the order line's
          cost (``sale_margin``'s ``purchase_price``, converted from the order currency);
          for other lines, the product's cost in the company; credit notes count negative;
        - ``gross_margin`` = ``revenue`` - ``cost_of_goods``;
        - ``visit_cost``: the stored cost of the visits done; ``other_cost``: the cost entries;
        - ``cost_to_serve`` = ``visit_cost`` + ``other_cost``;
        - ``net_contribution`` = ``gross_margin`` - ``cost_to_serve``;
        - ``visit_count`` (visits done) and ``visit_hours`` (their duration plus travel time);
        - ``cost_of_goods_from_orders``: the part of ``cost_of_goods`` taken from sales orders,
          so that screens can say where the margin comes from.

        Callers may wrap it (``WITH f AS (%s)``) and must flush what they changed before.
        """
        return SQL(
            """
            SELECT partner_id,
                   SUM(revenue) AS revenue,
                   SUM(cost_of_goods) AS cost_of_goods,
                   SUM(visit_cost) AS visit_cost,
                   SUM(other_cost) AS other_cost,
                   SUM(visit_cost) + SUM(other_cost) AS cost_to_serve,
                   SUM(revenue) - SUM(cost_of_goods) AS gross_margin,
                   SUM(revenue) - SUM(cost_of_goods) - SUM(visit_cost) - SUM(other_cost) AS net_contribution,
                   SUM(visit_count)::int AS visit_count,
                   SUM(visit_hours)::float8 AS visit_hours,
                   SUM(cost_of_goods_from_orders) AS cost_of_goods_from_orders
              FROM (%(sources)s) s
             GROUP BY partner_id
            """,
            sources=self._sources_sql(company.id, date_from, date_to, detail=False),
        )

    @api.model
    def _flush_sources(self):
        """Flush every field the source statements read."""
        self.env["account.move"].flush_model(
            [
                "state",
                "move_type",
                "invoice_date",
                "company_id",
                "commercial_partner_id",
                "amount_untaxed_signed",
                "invoice_user_id",
            ]
        )
        self.env["account.move.line"].flush_model(
            ["move_id", "display_type", "product_id", "quantity", "product_uom_id"]
        )
        self.env["sale.order.line"].flush_model(["purchase_price", "product_uom", "order_id", "invoice_lines"])
        self.env["sale.order"].flush_model(["currency_rate"])
        self.env["product.product"].flush_model(["standard_price", "product_tmpl_id"])
        self.env["kam.visit"].flush_model(
            ["state", "company_id", "commercial_partner_id", "date", "user_id", "cost", "duration", "travel_time"]
        )
        self.env["kam.cost.entry"].flush_model(
            ["company_id", "commercial_partner_id", "date", "user_id", "amount_company"]
        )

    @api.model
    def _sources_sql(self, company_id, date_from, date_to, detail):
        """UNION ALL of one grouped SELECT per source, all with the columns of ``_MEASURES``.

        Grouped by ``(company_id, partner_id)``, plus ``(date, user_id)`` by month when
        ``detail``; ``company_id``, ``date_from`` and ``date_to`` filter when given.
        """

        def select(alias, partner, day, user, measures, from_where):
            keys = [SQL("%s.company_id", SQL.identifier(alias)), SQL("%s AS partner_id", partner)]
            if detail:
                keys += [SQL("date_trunc('month', %s)::date AS date", day), SQL("%s AS user_id", user)]
            columns = [
                SQL("(%s)::%s AS %s", measures.get(name, SQL("0")), SQL(kind), SQL.identifier(name))
                for name, kind in _MEASURES
            ]
            return SQL(
                "SELECT %s, %s %s GROUP BY %s",
                SQL(", ").join(keys),
                SQL(", ").join(columns),
                from_where,
                SQL(", ").join(SQL(str(i + 1)) for i in range(len(keys))),
            )

        def filters(company_col, date_col):
            clauses = []
            if company_id:
                clauses.append(SQL("%s = %s", company_col, company_id))
            if date_from:
                clauses.append(SQL("%s >= %s", date_col, date_from))
            if date_to:
                clauses.append(SQL("%s <= %s", date_col, date_to))
            return SQL("").join(SQL(" AND %s", clause) for clause in clauses)

        invoices = SQL(
            "m.state = 'posted' AND m.move_type IN ('out_invoice', 'out_refund')%s",
            filters(SQL("m.company_id"), SQL("m.invoice_date")),
        )
        revenue = select(
            "m",
            SQL("m.commercial_partner_id"),
            SQL("m.invoice_date"),
            SQL("m.invoice_user_id"),
            {"revenue": SQL("SUM(m.amount_untaxed_signed)")},
            SQL("FROM account_move m WHERE %s", invoices),
        )
        cost_of_goods = select(
            "m",
            SQL("m.commercial_partner_id"),
            SQL("m.invoice_date"),
            SQL("m.invoice_user_id"),
            {
                "cost_of_goods": SQL("SUM(c.cost)"),
                "cost_of_goods_from_orders": SQL("COALESCE(SUM(c.cost) FILTER (WHERE c.from_order), 0)"),
            },
            SQL(
                """
                FROM account_move m
                JOIN account_move_line l ON l.move_id = m.id
                 AND l.display_type = 'product' AND l.product_id IS NOT NULL
                JOIN product_product pp ON pp.id = l.product_id
                JOIN product_template pt ON pt.id = pp.product_tmpl_id
                LEFT JOIN uom_uom line_uom ON line_uom.id = l.product_uom_id
                LEFT JOIN uom_uom product_uom ON product_uom.id = pt.uom_id
                LEFT JOIN LATERAL (
                    SELECT sol.purchase_price::numeric AS price,
                           COALESCE(NULLIF(so.currency_rate, 0), 1)::numeric AS currency_rate,
                           COALESCE(sol_uom.factor, 1)::numeric AS uom_factor
                      FROM sale_order_line_invoice_rel rel
                      JOIN sale_order_line sol ON sol.id = rel.order_line_id
                      JOIN sale_order so ON so.id = sol.order_id
                      LEFT JOIN uom_uom sol_uom ON sol_uom.id = sol.product_uom
                     WHERE rel.invoice_line_id = l.id AND sol.purchase_price IS NOT NULL
                     ORDER BY rel.order_line_id
                     LIMIT 1
                ) so_cost ON true
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN m.move_type = 'out_refund' THEN -1 ELSE 1 END
                           * l.quantity::numeric / COALESCE(NULLIF(line_uom.factor, 0), 1)::numeric
                           * CASE WHEN so_cost.price IS NOT NULL
                                  THEN so_cost.price * so_cost.uom_factor / so_cost.currency_rate
                                  ELSE COALESCE((pp.standard_price ->> m.company_id::text)::numeric, 0)
                                       * COALESCE(product_uom.factor, 1)::numeric
                             END AS cost,
                           so_cost.price IS NOT NULL AS from_order
                ) c
                WHERE %s
                """,
                invoices,
            ),
        )
        visits = select(
            "v",
            SQL("v.commercial_partner_id"),
            SQL("v.date"),
            SQL("v.user_id"),
            {
                "visit_cost": SQL("SUM(v.cost)"),
                "visit_count": SQL("COUNT(*)"),
                "visit_hours": SQL("SUM(COALESCE(v.duration, 0) + COALESCE(v.travel_time, 0))"),
            },
            SQL("FROM kam_visit v WHERE v.state = 'done'%s", filters(SQL("v.company_id"), SQL("v.date"))),
        )
        other_costs = select(
            "e",
            SQL("e.commercial_partner_id"),
            SQL("e.date"),
            SQL("e.user_id"),
            {"other_cost": SQL("SUM(e.amount_company)")},
            SQL("FROM kam_cost_entry e WHERE true%s", filters(SQL("e.company_id"), SQL("e.date"))),
        )
        return SQL(" UNION ALL ").join([revenue, cost_of_goods, visits, other_costs])

    @api.model
    def _view_sql(self):
        sums = SQL(", ").join(
            SQL("SUM(s.%s) AS %s", SQL.identifier(name), SQL.identifier(name))
            for name, _kind in _MEASURES
            if name != "cost_of_goods_from_orders"
        )
        return SQL(
            """
            SELECT ROW_NUMBER() OVER (ORDER BY f.date, f.company_id, f.partner_id, f.user_id) AS id,
                   f.company_id, f.partner_id, f.date, f.user_id,
                   c.currency_id, k.tier, k.quadrant, k.manager_id,
                   f.revenue, f.cost_of_goods, f.revenue - f.cost_of_goods AS gross_margin,
                   f.visit_cost, f.other_cost, f.visit_cost + f.other_cost AS cost_to_serve,
                   f.revenue - f.cost_of_goods - f.visit_cost - f.other_cost AS net_contribution,
                   f.visit_count, f.visit_hours
              FROM (SELECT s.company_id, s.partner_id, s.date, s.user_id, %(sums)s
                      FROM (%(sources)s) s
                     GROUP BY s.company_id, s.partner_id, s.date, s.user_id) f
              JOIN res_company c ON c.id = f.company_id
              LEFT JOIN kam_classification k ON k.company_id = f.company_id AND k.partner_id = f.partner_id
            """,
            sums=sums,
            sources=self._sources_sql(None, None, None, detail=True),
        )
