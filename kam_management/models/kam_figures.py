"""The figures of a key account, each defined once.

Every screen, report, snapshot, objective and the 80/20 engine read a figure through one of
the definitions below, so that "revenue", "pipeline" or "last contact" mean one thing
everywhere. Each definition is an ``odoo.tools.SQL`` SELECT:

==================  =============================================  =======================
figure              definition                                     grain
==================  =============================================  =======================
revenue             ``_invoice_revenue_sql`` / ``_order_revenue_sql``  company, entity, month
                    (``_revenue_sql`` picks the company's source)
cost of goods       ``_cost_of_goods_sql``                         company, entity, month
margin              revenue - cost of goods (``_month_figures_sql``)
visit cost, hours   ``_visit_effort_sql``                          company, entity, month
other costs         ``_other_cost_sql``                            company, entity, month
pipeline, won/lost  ``_opportunities_sql`` + ``_open_at_sql``      as of a date
last contact        ``_contacts_sql`` / ``_last_contact_sql``       as of a date
overdue             ``_overdue_sql``                               as of a date
satisfaction        ``_satisfaction_sql``                          as of a date
==================  =============================================  =======================

The monthly figures are stored per company, commercial entity, month and salesperson in
``kam.account.fact`` (``_refresh``). What reads every account at once sums those rows over its
window, each after a refresh: the reclassification (but a company's first, which has none
yet), the cost-to-serve analysis, the daily KPI snapshots and their plans' objectives. What
reads a few accounts (a plan on screen, a report) computes them from the
definitions below for those accounts, which is cheaper than a refresh and current to the last
write (``kam.account.fact._figures_sql``). Amounts are in company currency, untaxed. Callers
flush with ``_flush_sources`` before reading.
"""

from odoo import api, models
from odoo.tools import SQL

# Measures of every monthly source row, in this order; a source that does not produce one says 0.
MEASURES = (
    ("revenue", "numeric"),
    ("cost_of_goods", "numeric"),
    ("cost_of_goods_from_orders", "numeric"),
    ("visit_cost", "numeric"),
    ("other_cost", "numeric"),
    ("visit_count", "bigint"),
    ("visit_hours", "float8"),
)
# Messages that are an exchange with a contact, not the system's notifications.
CONTACT_MESSAGE_TYPES = ["email", "comment", "email_outgoing"]


class KamFigures(models.AbstractModel):
    _name = "kam.figures"
    _description = "Key account figures"

    @api.model
    def _flush_sources(self):
        """Flush every field the monthly figures read."""
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
        self.env["sale.order"].flush_model(
            ["state", "date_order", "company_id", "partner_id", "amount_untaxed", "currency_rate", "user_id"]
        )
        self.env["product.product"].flush_model(["standard_price", "product_tmpl_id"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["kam.visit"].flush_model(
            ["state", "company_id", "commercial_partner_id", "date", "user_id", "cost", "duration", "travel_time"]
        )
        self.env["kam.cost.entry"].flush_model(
            ["company_id", "commercial_partner_id", "date", "user_id", "amount_company"]
        )

    # ------------------------------------------------------------------
    # Monthly figures: one SELECT per source, all with the columns of MEASURES
    # ------------------------------------------------------------------
    @api.model
    def _monthly(self, alias, partner, day, user, measures, from_where, detail):
        """A grouped SELECT of one source: ``company_id, partner_id`` (+ ``date`` and ``user_id``,
        the document's salesperson, when ``detail``) and MEASURES.

        ``date`` is the first day of the month, or of the part of a month a stored fact holds
        when the context gives ``kam_fact_splits`` (``{company id: [split dates]}``: a month
        that holds a split date is cut there, so that a window starting or ending on it sums
        whole rows). The context's ``kam_fact_scope`` (a function of the company, partner and
        day columns returning an SQL condition) restricts the rows read.
        """
        company = SQL("%s.company_id", SQL.identifier(alias))
        keys = [company, SQL("%s AS partner_id", partner)]
        if detail:
            keys += [SQL("%s AS date", self._period_sql(company, day)), SQL("%s AS user_id", user)]
        scope = self.env.context.get("kam_fact_scope")
        if scope:
            from_where = SQL("%s AND %s", from_where, scope(company, partner, day))
        columns = [
            SQL("(%s)::%s AS %s", measures.get(name, SQL("0")), SQL(kind), SQL.identifier(name))
            for name, kind in MEASURES
        ]
        return SQL(
            "SELECT %s, %s %s GROUP BY %s",
            SQL(", ").join(keys),
            SQL(", ").join(columns),
            from_where,
            SQL(", ").join(SQL(str(i + 1)) for i in range(len(keys))),
        )

    @api.model
    def _period_sql(self, company, day):
        """The first day of the stored period holding ``day`` (see ``_monthly``)."""
        month = SQL("date_trunc('month', %s)::date", day)
        splits = self.env.context.get("kam_fact_splits") or {}
        cases = [
            SQL(
                "WHEN %s = %s AND %s >= %s::date AND %s = date_trunc('month', %s::date)::date THEN %s::date",
                company,
                company_id,
                day,
                split,
                month,
                split,
                split,
            )
            for company_id, dates in splits.items()
            for split in sorted(dates, reverse=True)
        ]
        if not cases:
            return month
        return SQL("CASE %s ELSE %s END", SQL(" ").join(cases), month)

    @api.model
    def _filters(self, company_col, date_col, company_id, date_from, date_to):
        clauses = []
        if company_id:
            clauses.append(SQL("%s = %s", company_col, company_id))
        if date_from:
            clauses.append(SQL("%s >= %s", date_col, date_from))
        if date_to:
            clauses.append(SQL("%s <= %s", date_col, date_to))
        return SQL("").join(SQL(" AND %s", clause) for clause in clauses)

    @api.model
    def _invoices_where(self, company_id, date_from, date_to):
        return SQL(
            "m.state = 'posted' AND m.move_type IN ('out_invoice', 'out_refund')%s",
            self._filters(SQL("m.company_id"), SQL("m.invoice_date"), company_id, date_from, date_to),
        )

    @api.model
    def _invoice_revenue_sql(self, company_id=None, date_from=None, date_to=None, detail=False):
        """Revenue from invoices: untaxed posted customer invoices minus credit notes, by invoice
        date (``amount_untaxed_signed``), per commercial entity of the invoice."""
        return self._monthly(
            "m",
            SQL("m.commercial_partner_id"),
            SQL("m.invoice_date"),
            SQL("m.invoice_user_id"),
            {"revenue": SQL("SUM(m.amount_untaxed_signed)")},
            SQL("FROM account_move m WHERE %s", self._invoices_where(company_id, date_from, date_to)),
            detail,
        )

    @api.model
    def _order_revenue_sql(self, company_id=None, date_from=None, date_to=None, detail=False):
        """Revenue from sales orders: untaxed confirmed orders, by order date, in company currency."""
        return self._monthly(
            "so",
            SQL("p.commercial_partner_id"),
            SQL("so.date_order"),
            SQL("so.user_id"),
            {"revenue": SQL("SUM(so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1))")},
            SQL(
                "FROM sale_order so JOIN res_partner p ON p.id = so.partner_id WHERE so.state = 'sale'%s%s",
                self._filters(SQL("so.company_id"), SQL("so.date_order"), company_id, date_from, None),
                # date_order is a datetime: the last day counts whole.
                SQL(" AND so.date_order < %s::date + 1", date_to) if date_to else SQL(""),
            ),
            detail,
        )

    @api.model
    def _revenue_sql(self, company, date_from, date_to):
        """Revenue per commercial entity of ``company`` from ``date_from`` to ``date_to`` (both
        included), from the source the company chose (invoices or sales orders):
        ``partner_id, revenue``. This is what the 80/20 classification ranks."""
        source = self._order_revenue_sql if company.kam_revenue_source == "sale_order" else self._invoice_revenue_sql
        return SQL(
            "SELECT partner_id, revenue FROM (%s) r",
            source(company.id, date_from, date_to),
        )

    @api.model
    def _cost_of_goods_sql(self, company_id=None, date_from=None, date_to=None, detail=False):
        """Cost of goods of the invoiced lines: for lines made from sales order lines, the order
        line's cost (``sale_margin``'s ``purchase_price``, converted from the order currency);
        for other lines, the product's cost in the company; credit notes count negative.
        ``cost_of_goods_from_orders`` is the part taken from sales orders."""
        return self._monthly(
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
                self._invoices_where(company_id, date_from, date_to),
            ),
            detail,
        )

    @api.model
    def _visit_effort_sql(self, company_id=None, date_from=None, date_to=None, detail=False):
        """Visits done: their stored cost, their number, and the hours spent (duration plus travel)."""
        return self._monthly(
            "v",
            SQL("v.commercial_partner_id"),
            SQL("v.date"),
            SQL("v.user_id"),
            {
                "visit_cost": SQL("SUM(v.cost)"),
                "visit_count": SQL("COUNT(*)"),
                "visit_hours": SQL("SUM(COALESCE(v.duration, 0) + COALESCE(v.travel_time, 0))"),
            },
            SQL(
                "FROM kam_visit v WHERE v.state = 'done'%s",
                self._filters(SQL("v.company_id"), SQL("v.date"), company_id, date_from, date_to),
            ),
            detail,
        )

    @api.model
    def _other_cost_sql(self, company_id=None, date_from=None, date_to=None, detail=False):
        """Other costs to serve: the cost entries, in company currency."""
        return self._monthly(
            "e",
            SQL("e.commercial_partner_id"),
            SQL("e.date"),
            SQL("e.user_id"),
            {"other_cost": SQL("SUM(e.amount_company)")},
            SQL(
                "FROM kam_cost_entry e WHERE true%s",
                self._filters(SQL("e.company_id"), SQL("e.date"), company_id, date_from, date_to),
            ),
            detail,
        )

    @api.model
    def _sources_sql(self, company_id=None, date_from=None, date_to=None, detail=False):
        """UNION ALL of the monthly sources (invoice revenue, cost of goods, visits, other costs),
        each grouped by ``(company_id, partner_id)``, plus ``(date, user_id)`` when ``detail``."""
        return SQL(" UNION ALL ").join(
            source(company_id, date_from, date_to, detail)
            for source in (
                self._invoice_revenue_sql,
                self._cost_of_goods_sql,
                self._visit_effort_sql,
                self._other_cost_sql,
            )
        )

    @api.model
    def _month_figures_sql(self, company_id=None, date_from=None, date_to=None):
        """The monthly figures: one row per company, commercial entity, month and salesperson,
        with MEASURES summed over the sources."""
        return SQL(
            """
            SELECT s.company_id, s.partner_id, s.date, s.user_id, %(sums)s
              FROM (%(sources)s) s
             GROUP BY s.company_id, s.partner_id, s.date, s.user_id
            """,
            sums=SQL(", ").join(
                SQL("SUM(s.%s)::%s AS %s", SQL.identifier(name), SQL(kind), SQL.identifier(name))
                for name, kind in MEASURES
            ),
            sources=self._sources_sql(company_id, date_from, date_to, detail=True),
        )

    @api.model
    def _totals_sql(self, rows, group_by=("partner_id",)):
        """Totals of ``rows`` (a SELECT with the ``group_by`` columns and MEASURES) per
        ``group_by`` (per entity by default), with the derived figures: ``gross_margin`` =
        revenue - cost of goods, ``cost_to_serve`` = visit cost + other costs,
        ``net_contribution`` = gross margin - cost to serve."""
        keys = SQL(", ").join(SQL.identifier(column) for column in group_by)
        return SQL(
            """
            SELECT %(keys)s,
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
              FROM (%(rows)s) s
             GROUP BY %(keys)s
            """,
            keys=keys,
            rows=rows,
        )

    # ------------------------------------------------------------------
    # Figures as of a date
    # ------------------------------------------------------------------
    @api.model
    def _opportunities_sql(self, company_id):
        """The opportunities of ``company_id`` with what the pipeline figures need: ``partner_id``
        (the customer's commercial entity), ``expected_revenue``, ``probability``, ``won`` (active,
        in a won stage), ``lost`` (archived at 0 %), ``closed`` (closing date) and ``created``."""
        return SQL(
            """
            SELECT p.commercial_partner_id AS partner_id, l.id, l.expected_revenue, l.probability, l.active,
                   l.active AND COALESCE(st.is_won, false) AS won,
                   NOT l.active AND l.probability = 0 AS lost,
                   l.date_closed::date AS closed, l.create_date AS created
              FROM crm_lead l
              JOIN res_partner p ON p.id = l.partner_id
              LEFT JOIN crm_stage st ON st.id = l.stage_id
             WHERE l.type = 'opportunity' AND l.company_id = %s
            """,
            company_id,
        )

    @api.model
    def _open_at_sql(self, alias, date):
        """True for an opportunity of ``_opportunities_sql`` (as ``alias``) that was open on
        ``date`` (a date or an SQL expression): created by then, and neither won nor lost by then.
        The open pipeline as of a date is the sum of their expected revenue."""
        o = SQL.identifier(alias)
        return SQL(
            """(%(o)s.created < (%(date)s)::date + 1
                AND ((%(o)s.active AND NOT %(o)s.won)
                     OR ((%(o)s.won OR %(o)s.lost) AND %(o)s.closed > (%(date)s)::date)))""",
            o=o,
            date=date,
        )

    @api.model
    def _flush_opportunities(self):
        self.env["crm.lead"].flush_model(
            [
                "active",
                "type",
                "stage_id",
                "date_closed",
                "company_id",
                "partner_id",
                "expected_revenue",
                "probability",
                "create_date",
            ]
        )
        self.env["crm.stage"].flush_model(["is_won"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])

    @api.model
    def _contacts_sql(self, company_id, date, partners):
        """Contacts with people (one row ``partner_id, day`` per exchange) up to ``date``.

        A contact with a person is: a visit done to them (in the company), a past meeting they
        attended, an email or a message they wrote or received (not an internal note that
        merely mentions them), and on their own record or their opportunities in the company,
        an email, a sent message or a logged call or meeting. ``partners`` is an SQL list of the
        people (``SELECT id ...``).
        """
        Data = self.env["ir.model.data"]
        comment_id = Data._xmlid_to_res_id("mail.mt_comment")
        contact_type_id = Data._xmlid_to_res_id("kam_management.mail_activity_type_kam_contact")
        call_types = (
            self.env["mail.activity.type"]
            .sudo()
            .with_context(active_test=False)
            .search([("category", "in", ("phonecall", "meeting"))])
        )
        exchange = SQL(
            "(msg.message_type = 'email' OR (msg.message_type = 'comment' AND msg.subtype_id = %s) "
            "OR msg.mail_activity_type_id = ANY(%s))",
            comment_id,
            [*call_types.ids, contact_type_id],
        )
        return SQL(
            """
            SELECT v.partner_id, v.date AS day
              FROM kam_visit v
             WHERE v.company_id = %(company)s AND v.state = 'done' AND v.date <= %(date)s
               AND v.partner_id IN (%(partners)s)
            UNION ALL
            SELECT rel.res_partner_id, e.start::date
              FROM calendar_event_res_partner_rel rel
              JOIN calendar_event e ON e.id = rel.calendar_event_id
             WHERE e.active AND e.start < %(date)s::date + 1 AND rel.res_partner_id IN (%(partners)s)
            UNION ALL
            SELECT msg.author_id, msg.date::date
              FROM mail_message msg
             WHERE msg.author_id IN (%(partners)s) AND msg.message_type = ANY(%(types)s)
               AND msg.date < %(date)s::date + 1
            UNION ALL
            SELECT rel.res_partner_id, msg.date::date
              FROM mail_message_res_partner_rel rel
              JOIN mail_message msg ON msg.id = rel.mail_message_id
              LEFT JOIN mail_message_subtype st ON st.id = msg.subtype_id
             WHERE rel.res_partner_id IN (%(partners)s) AND msg.message_type = ANY(%(types)s)
               AND NOT COALESCE(st.internal, false) AND msg.date < %(date)s::date + 1
            UNION ALL
            SELECT msg.res_id, msg.date::date
              FROM mail_message msg
             WHERE msg.model = 'res.partner' AND msg.res_id IN (%(partners)s)
               AND msg.date < %(date)s::date + 1 AND %(exchange)s
            UNION ALL
            SELECT l.partner_id, msg.date::date
              FROM crm_lead l
              JOIN mail_message msg ON msg.model = 'crm.lead' AND msg.res_id = l.id
             WHERE l.company_id = %(company)s AND l.partner_id IN (%(partners)s)
               AND msg.date < %(date)s::date + 1 AND %(exchange)s
            """,
            company=company_id,
            date=date,
            partners=partners,
            types=CONTACT_MESSAGE_TYPES,
            exchange=exchange,
        )

    @api.model
    def _flush_contacts(self):
        self.env["kam.visit"].flush_model(["partner_id", "company_id", "state", "date"])
        self.env["calendar.event"].flush_model(["partner_ids", "start", "active"])
        self.env["mail.message"].flush_model(
            [
                "author_id",
                "partner_ids",
                "message_type",
                "date",
                "subtype_id",
                "model",
                "res_id",
                "mail_activity_type_id",
            ]
        )
        self.env["crm.lead"].flush_model(["partner_id", "company_id"])

    @api.model
    def _last_contact_sql(self, company_id, date, entities):
        """Last contact of each commercial entity of ``entities`` (an SQL list of ids) up to
        ``date``: the latest contact with the entity or any of its people (``_contacts_sql``).
        Rows ``partner_id, day``."""
        return SQL(
            """
            SELECT m.commercial_partner_id AS partner_id, MAX(c.day) AS day
              FROM (%(contacts)s) c
              JOIN res_partner m ON m.id = c.partner_id
             GROUP BY 1
            """,
            contacts=self._contacts_sql(
                company_id,
                date,
                SQL("SELECT id FROM res_partner WHERE commercial_partner_id IN (%s)", entities),
            ),
        )

    @api.model
    def _overdue_sql(self, company_id, date, entities):
        """Overdue receivables of each commercial entity on ``date``: the amount still due of its
        posted customer invoices whose due date has passed. Rows ``partner_id, amount``."""
        return SQL(
            """
            SELECT mv.commercial_partner_id AS partner_id, SUM(mv.amount_residual_signed) AS amount
              FROM account_move mv
             WHERE mv.company_id = %(company)s AND mv.state = 'posted' AND mv.move_type = 'out_invoice'
               AND mv.payment_state NOT IN ('paid', 'in_payment', 'reversed')
               AND mv.invoice_date_due < %(date)s AND mv.invoice_date <= %(date)s
               AND mv.commercial_partner_id IN (%(entities)s)
             GROUP BY 1
            """,
            company=company_id,
            date=date,
            entities=entities,
        )

    @api.model
    def _satisfaction_sql(self, company_id, date, entities):
        """Customer satisfaction of each account on ``date``: the score of its latest account
        review (0-10) and that review's date. Rows ``partner_id, score, date``."""
        return SQL(
            """
            SELECT DISTINCT ON (rv.account_id) rv.account_id AS partner_id,
                   rv.satisfaction_score::float8 AS score, rv.date
              FROM kam_account_review rv
             WHERE rv.company_id = %(company)s AND rv.date <= %(date)s
               AND rv.account_id IN (%(entities)s)
             ORDER BY rv.account_id, rv.date DESC, rv.id DESC
            """,
            company=company_id,
            date=date,
            entities=entities,
        )
