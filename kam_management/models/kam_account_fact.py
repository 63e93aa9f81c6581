from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models, tools
from odoo.osv import expression
from odoo.tools import SQL

from ..const import QUADRANTS, TIERS
from ..tools.large_statement import large_statement
from .kam_classification import _RUN_LOCK_KEY
from .kam_figures import MEASURES

# Stored measures, in this order: the monthly ones of ``kam.figures`` and the derived ones.
# A refresh that writes more than this share of the table's rows (plus the minimum) refreshes
# its statistics.
ANALYZE_SHARE = 0.2
ANALYZE_MIN_ROWS = 10000
STORED_MEASURES = (*(name for name, _kind in MEASURES), "gross_margin", "cost_to_serve", "net_contribution")
# The account's current tier, quadrant and manager: its classification row's, joined when read.
ACCOUNT_FIELDS = ("tier", "quadrant", "manager_id")
# The classification window's figures per company and customer: the rows of the window summed,
# with the number of monthly rows they sum. The analysis opens on the window by quadrant;
# reading ~100,000 such rows instead of ~500,000 monthly rows is what makes it fast (see
# ``_read_group``).
WINDOW_TABLE = "kam_account_fact_window"
WINDOW_CONTEXT = "kam_fact_window_grain"
# What a window row can answer: filters and groupings on these fields, sums of the measures.
WINDOW_FIELDS = frozenset(("company_id", "partner_id", "currency_id", "in_window", *ACCOUNT_FIELDS))


class KamAccountFact(models.Model):
    """Stored monthly figures: value and effort per company, commercial entity, month and
    salesperson.

    The only source of these rows is ``kam.figures`` (the one definition of each figure);
    every screen sums them over its window. In the month that holds the first day of the
    company's classification window (and in the month that holds the day after its last
    day), a customer's figures are cut in two rows at that day, so that the classification
    window is a sum of whole rows, exact to the day. ``in_window`` marks them.

    The account's tier, quadrant and Key Account Manager are its current ones, read from its
    classification row when a screen filters or groups by them: no row here stores them, so a
    run or a new manager writes nothing here. The salesperson is the document's.
    Kept current by ``_refresh``: the classification run, the daily KPI run and on demand.

    The classification window is also kept summed per customer (``WINDOW_TABLE``): the
    analysis's groups by account over the window read those rows (``_read_group``).
    """

    _name = "kam.account.fact"
    _description = "Cost-to-serve analysis"
    _order = "date desc, partner_id"
    _rec_name = "partner_id"
    _log_access = False

    company_id = fields.Many2one("res.company", readonly=True, required=True, index=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True, required=True, index=True)
    date = fields.Date(
        string="Month",
        readonly=True,
        required=True,
        help="First day of the month (or of the part of the month) the figures belong to.",
    )
    in_window = fields.Boolean(
        string="In the classification window",
        readonly=True,
        help="The figures of the trailing window ending on the company's last classification run.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        readonly=True,
        help="The salesperson of the invoice, or who did the visit or booked the cost.",
    )
    # The account's current tier, quadrant and manager: its classification row's, joined when
    # the analysis filters or groups by them (``_field_to_sql``), so that a run or a new
    # manager never rewrites the facts.
    manager_id = fields.Many2one(
        "res.users",
        string="Key Account Manager",
        compute="_compute_account",
        search="_search_manager_id",
        help="The account's Key Account Manager today.",
    )
    tier = fields.Selection(TIERS, compute="_compute_account", search="_search_tier")
    quadrant = fields.Selection(QUADRANTS, compute="_compute_account", search="_search_quadrant")
    currency_id = fields.Many2one("res.currency", readonly=True)
    revenue = fields.Monetary(currency_field="currency_id", readonly=True)
    cost_of_goods = fields.Monetary(string="Cost of goods", currency_field="currency_id", readonly=True)
    cost_of_goods_from_orders = fields.Monetary(
        string="Cost of goods from orders", currency_field="currency_id", readonly=True
    )
    gross_margin = fields.Monetary(string="Gross margin", currency_field="currency_id", readonly=True)
    visit_cost = fields.Monetary(string="Cost of visits", currency_field="currency_id", readonly=True)
    other_cost = fields.Monetary(string="Other costs to serve", currency_field="currency_id", readonly=True)
    cost_to_serve = fields.Monetary(string="Cost to serve", currency_field="currency_id", readonly=True)
    net_contribution = fields.Monetary(string="Net contribution", currency_field="currency_id", readonly=True)
    visit_count = fields.Integer(string="Visits done", readonly=True)
    visit_hours = fields.Float(string="Hours spent", readonly=True)

    def _auto_init(self):
        # The analysis used to be an SQL view of this name: an upgrade makes room for the table.
        tools.drop_view_if_exists(self.env.cr, self._table)
        return super()._auto_init()

    def init(self):
        # Customers whose rows the next refresh computes again, for changes no write date
        # shows (a deleted visit, a document moved to another customer), and when and for
        # which window each company's rows were last refreshed. Bookkeeping of the refresh,
        # not business records: plain tables.
        self.env.cr.execute(
            "CREATE TABLE IF NOT EXISTS kam_account_fact_pending (company_id int NOT NULL, partner_id int NOT NULL)"
        )
        self.env.cr.execute(
            "CREATE TABLE IF NOT EXISTS kam_account_fact_state (company_id int PRIMARY KEY, "
            "since_xid xid NOT NULL, date_from date NOT NULL, date_to date NOT NULL)"
        )
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS kam_account_fact_company_date_idx ON %s (company_id, date)",
                SQL.identifier(self._table),
            )
        )
        # One row per key: a refresh that ran on a stale snapshot fails instead of counting twice.
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS kam_account_fact_key_uniq "
                "ON %s (company_id, partner_id, date, COALESCE(user_id, 0))",
                SQL.identifier(self._table),
            )
        )
        self._init_window_table()

    def _init_window_table(self):
        """The classification window's figures per company and customer (``WINDOW_TABLE``), a
        sum of the monthly rows kept by ``_refresh_window``; filled here when it is new."""
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS %s (
                    id serial PRIMARY KEY,
                    company_id int NOT NULL REFERENCES res_company (id) ON DELETE CASCADE,
                    partner_id int NOT NULL REFERENCES res_partner (id) ON DELETE CASCADE,
                    currency_id int,
                    in_window boolean NOT NULL DEFAULT true,
                    row_count int NOT NULL DEFAULT 0,
                    UNIQUE (company_id, partner_id)
                )
                """,
                SQL.identifier(WINDOW_TABLE),
            )
        )
        # The account's fields were kept on these rows once; they are read from the
        # classification row now, like those of the monthly rows (``_field_to_sql``).
        cr.execute(
            SQL(
                "ALTER TABLE %s %s",
                SQL.identifier(WINDOW_TABLE),
                SQL(", ").join(SQL("DROP COLUMN IF EXISTS %s", SQL.identifier(name)) for name in ACCOUNT_FIELDS),
            )
        )
        for name in STORED_MEASURES:
            field = self._fields[name]
            cr.execute(
                SQL(
                    "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s %s",
                    SQL.identifier(WINDOW_TABLE),
                    SQL.identifier(name),
                    SQL(field.column_type[1]),
                    SQL("REFERENCES %s (id) ON DELETE SET NULL", SQL.identifier(self.env[field.comodel_name]._table))
                    if field.type == "many2one"
                    else SQL(),
                )
            )
        cr.execute(
            SQL(
                "SELECT DISTINCT company_id FROM %s WHERE NOT EXISTS (SELECT 1 FROM %s)",
                SQL.identifier(self._table),
                SQL.identifier(WINDOW_TABLE),
            )
        )
        company_ids = [company_id for (company_id,) in cr.fetchall()]
        if company_ids:
            written = self._refresh_window(self.env["res.company"].browse(company_ids))
            self._analyze_if_grown(written, WINDOW_TABLE)

    def _compute_account(self):
        rows = (
            self.env["kam.classification"]
            .sudo()
            .search([("partner_id", "in", self.partner_id.ids), ("company_id", "in", self.company_id.ids)])
        )
        by_key = {(row.company_id.id, row.partner_id.id): row for row in rows}
        for fact in self:
            row = by_key.get((fact.company_id.id, fact.partner_id.id))
            fact.tier = row.tier if row else False
            fact.quadrant = row.quadrant if row else False
            fact.manager_id = row.manager_id.id if row else False

    def _search_tier(self, operator, value):
        return self._search_account("tier", operator, value)

    def _search_quadrant(self, operator, value):
        return self._search_account("quadrant", operator, value)

    def _search_manager_id(self, operator, value):
        return self._search_account("manager_id", operator, value)

    def _search_account(self, fname, operator, value):
        """Facts whose account's classification row (same company) has ``fname`` in ``value``."""
        if operator not in ("=", "!=", "in", "not in"):
            return NotImplemented
        values = list(value) if isinstance(value, list | tuple | set) else [value]
        values = [v.id if isinstance(v, models.BaseModel) else v for v in values]
        known = [v for v in values if v]
        column = SQL.identifier("k", fname)
        condition = SQL("%s = ANY(%s)", column, known)
        if len(known) < len(values):
            condition = SQL("(%s OR %s IS NULL)", condition, column)
        # The rows of the grain read: the monthly rows, or the window's (``_read_group``).
        table = WINDOW_TABLE if self.env.context.get(WINDOW_CONTEXT) else self._table
        facts = SQL(
            """(SELECT f.id FROM %s f
                 LEFT JOIN kam_classification k ON k.company_id = f.company_id AND k.partner_id = f.partner_id
                WHERE %s)""",
            SQL.identifier(table),
            condition,
        )
        return [("id", "in" if operator in ("=", "in") else "not in", facts)]

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        if fname not in ACCOUNT_FIELDS:
            return super()._field_to_sql(alias, fname, query, flush)
        Classification = self.env["kam.classification"]
        to_flush = Classification._fields[fname] if flush else None
        row_alias = query.make_alias(alias, "account") if query is not None else "account"
        condition = SQL(
            "%s = %s AND %s = %s",
            SQL.identifier(row_alias, "company_id"),
            SQL.identifier(alias, "company_id"),
            SQL.identifier(row_alias, "partner_id"),
            SQL.identifier(alias, "partner_id"),
        )
        column = SQL.identifier(row_alias, fname, to_flush=to_flush)
        if query is None:
            return SQL("(SELECT %s FROM kam_classification %s WHERE %s)", column, SQL.identifier(row_alias), condition)
        query.add_join("LEFT JOIN", row_alias, Classification._table, condition)
        return column

    # ------------------------------------------------------------------
    # The analysis: read the window's rows when they can answer
    # ------------------------------------------------------------------
    @property
    def _table_sql(self):
        if self.env.context.get(WINDOW_CONTEXT):
            return SQL.identifier(WINDOW_TABLE)
        return super()._table_sql

    @api.model
    def _read_group(self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None):
        """Groups over the classification window by account (quadrant, tier, manager, customer,
        company) are read from the window's rows, one per customer, which hold the same sums:
        what the analysis opens on. Anything else (by month, by salesperson, another window)
        reads the monthly rows."""
        if not self.env.context.get(WINDOW_CONTEXT) and self._window_grain_answers(
            domain, groupby, aggregates, having, order
        ):
            self = self.with_context(**{WINDOW_CONTEXT: True})
        return super()._read_group(domain, groupby, aggregates, having, offset, limit, order)

    @api.model
    def _window_grain_answers(self, domain, groupby, aggregates, having, order):
        """Whether the window's rows give the same groups as the monthly rows: the domain (and
        the record rules) keeps to the window and filters on account fields only, the groups
        are account fields, the aggregates sums or counts."""
        if having or self.env.context.get("kam_fact_monthly"):
            return False
        measures = set(STORED_MEASURES)
        for spec in groupby:
            if spec not in WINDOW_FIELDS:
                return False
        for spec in aggregates:
            fname, _sep, func = spec.partition(":")
            if spec != "__count" and not (fname in measures and func == "sum"):
                return False
        for term in (order or "").split(","):
            name = term.strip().split(" ")[0].split(":")[0]
            if name and name not in WINDOW_FIELDS and name not in measures and name != "__count":
                return False
        rules = [] if self.env.su else self.env["ir.rule"]._compute_domain(self._name, "read")
        conjuncts = _conjuncts(expression.normalize_domain(domain or []))
        if not any(_is_window_leaf(leaf) for leaf in conjuncts):
            return False
        leaves = [item for item in (*expression.normalize_domain(domain or []), *(rules or [])) if len(item) == 3]
        return all(
            leaf in (expression.TRUE_LEAF, expression.FALSE_LEAF)
            or (isinstance(leaf[0], str) and leaf[0].split(".")[0] in WINDOW_FIELDS)
            for leaf in leaves
        )

    def _read_group_select(self, aggregate_spec, query):
        if aggregate_spec == "__count" and self.env.context.get(WINDOW_CONTEXT):
            # A window row stands for the monthly rows it sums.
            return SQL("COALESCE(SUM(%s), 0)", SQL.identifier(query.table, "row_count"))
        return super()._read_group_select(aggregate_spec, query)

    # ------------------------------------------------------------------
    # Reading: the figures of a window
    # ------------------------------------------------------------------
    @api.model
    def _flush_sources(self):
        """Flush every field the figures read (see ``kam.figures``)."""
        self.env["kam.figures"]._flush_sources()

    @api.model
    def _sources_sql(self, company_id, date_from, date_to, detail):
        """The monthly rows of the figures' definitions (``kam.figures._sources_sql``)."""
        return self.env["kam.figures"]._sources_sql(company_id, date_from, date_to, detail)

    @api.model
    def _figures_sql(self, company, date_from, date_to, partners=None, stored=False):
        """Value and effort of each customer of ``company`` from ``date_from`` to ``date_to``.

        Returns an ``odoo.tools.SQL`` SELECT, one row per commercial entity with any figure in
        the range (both dates included), all amounts in company currency: ``partner_id``,
        ``revenue``, ``cost_of_goods``, ``gross_margin``, ``visit_cost``, ``other_cost``,
        ``cost_to_serve``, ``net_contribution``, ``visit_count``, ``visit_hours`` and
        ``cost_of_goods_from_orders``; see ``kam.figures`` for each definition.

        ``partners`` (commercial entity ids, or an SQL SELECT of them) restricts the customers
        read. ``stored`` sums the stored rows (``_stored_sources_sql``): the caller must have
        brought them up to date (``_refresh``) in its transaction. Without it the figures are
        computed from the definitions, current to the last write.

        Callers may wrap it (``WITH f AS (%s)``) and must flush what they changed before.
        """
        Figures = self._scoped_figures(partners)
        if stored:
            rows = self._stored_sources_sql(company.id, date_from, date_to, partners=partners)
        else:
            rows = Figures._sources_sql(company.id, date_from, date_to)
        return Figures._totals_sql(rows)

    @api.model
    def _scoped_figures(self, partners):
        """``kam.figures`` reading only the commercial entities ``partners`` (all when None)."""
        Figures = self.env["kam.figures"]
        if partners is None:
            return Figures

        def scope(_company, partner, _day):
            return _partners_condition(partner, partners)

        return Figures.with_context(kam_fact_scope=scope)

    @api.model
    def _stored_sources_sql(self, company_id, date_from, date_to, detail=False, partners=None):
        """The rows of ``kam.figures._sources_sql`` for the range, read from the stored rows.

        The whole months of the range are summed from the stored rows (a month cut at the
        classification window counts both its parts); the days of a month the range covers only
        in part are computed from the definitions, so that any range is exact to the day. With
        ``detail``, ``date`` is the first day of the month. ``company_id`` None: every company.
        The rows must be current (``_refresh``).
        """
        Figures = self._scoped_figures(partners)
        first = date_from if date_from.day == 1 else date_from.replace(day=1) + relativedelta(months=1)
        end = (date_to + relativedelta(days=1)).replace(day=1)
        if first >= end:
            return Figures._sources_sql(company_id, date_from, date_to, detail)
        keys = [SQL("company_id"), SQL("partner_id")]
        if detail:
            keys += [SQL("date_trunc('month', date)::date AS date"), SQL("user_id")]
        conditions = [SQL("date >= %s AND date < %s", first, end)]
        if company_id:
            conditions.append(SQL("company_id = %s", company_id))
        if partners is not None:
            conditions.append(_partners_condition(SQL("partner_id"), partners))
        parts = [
            SQL(
                "SELECT %s, %s FROM %s WHERE %s",
                SQL(", ").join(keys),
                SQL(", ").join(SQL.identifier(name) for name, _kind in MEASURES),
                SQL.identifier(self._table),
                SQL(" AND ").join(conditions),
            )
        ]
        if date_from < first:
            parts.append(Figures._sources_sql(company_id, date_from, first - relativedelta(days=1), detail))
        if end <= date_to:
            parts.append(Figures._sources_sql(company_id, end, date_to, detail))
        return SQL(" UNION ALL ").join(parts)

    @api.model
    def _window_rows_sql(self, company):
        """``_figures_sql`` of the classification window of the last refresh, read from the
        window's rows (``WINDOW_TABLE``): one row per customer, the window summed already."""
        return SQL(
            "SELECT partner_id, %s FROM %s WHERE company_id = %s",
            SQL(", ").join(SQL.identifier(name) for name in STORED_MEASURES),
            SQL.identifier(WINDOW_TABLE),
            company.id,
        )

    # ------------------------------------------------------------------
    # Keeping the rows current
    # ------------------------------------------------------------------
    @api.model
    def _window_of(self, company):
        """The classification window of ``company``'s last run (today's when it has none)."""
        run = (
            self.env["kam.classification.run"]
            .sudo()
            .search([("company_id", "=", company.id)], order="date desc, id desc", limit=1)
        )
        day = run.date or fields.Date.context_today(self)
        return self.env["kam.classification"]._window(company, day)

    @api.model
    def _splits(self, window):
        """The days a month is cut at for ``window``: its first day and the day after its last."""
        return [day for day in (window[0], window[1] + relativedelta(days=1)) if day.day != 1]

    @api.model
    def action_refresh(self):
        """Refresh the stored figures of the selected companies now."""
        self.env["kam.classification"].check_access("write")
        written = self._refresh(self.env.companies)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("Figures refreshed"),
                "message": _("%(count)s monthly rows of figures were written.", count=written),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _refresh(self, companies=None, rebuild=False, window=None, if_built=False):
        """Bring the stored rows of ``companies`` (all when None) up to date; return the rows written.

        One statement per company recomputes, from ``kam.figures``, the rows of the customers
        whose documents (invoices, their products' cost and their orders' cost, visits, cost
        entries) were written since the last refresh, and of the months whose cut moved with
        the window, then deletes, updates and inserts only the rows that differ; ``in_window``
        follows the window.
        ``window`` (one company) is the classification window the figures are computed for
        (a run's, a refresh of the cost figures'); by default the one of the last refresh,
        else of the last run. ``rebuild`` recomputes every row. ``if_built`` leaves alone a
        company whose rows were never built, and returns None when none was refreshed.
        """
        companies = companies if companies is not None else self.env["res.company"].sudo().search([])
        self.env["kam.figures"]._flush_sources()
        self.flush_model()
        written = window_written = 0
        refreshed = False
        for company in companies:
            # The same lock as the classification run's: one writer of a company's figures.
            self.env.cr.execute(
                SQL(
                    """
                    SELECT s.since_xid::text, s.date_from, s.date_to
                      FROM (SELECT pg_advisory_xact_lock(%(key)s, %(company)s)) lock
                      LEFT JOIN kam_account_fact_state s ON s.company_id = %(company)s
                    """,
                    key=_RUN_LOCK_KEY,
                    company=company.id,
                )
            )
            since, *previous = self.env.cr.fetchone()
            if if_built and since is None:
                continue
            refreshed = True
            company_window = window or (previous if previous[0] else self._window_of(company))
            splits = self._splits(company_window)
            old_splits = set(self._splits(previous)) if previous[0] else set()
            # Months whose cut changed: every customer's rows there are computed again.
            months = sorted({day.replace(day=1) for day in old_splits.symmetric_difference(splits)})
            company_written, partners = self._refresh_company(
                company, company_window, splits, None if rebuild else since, months, previous if previous[0] else None
            )
            written += company_written
            if partners is None or partners:
                window_written += self._refresh_window(company, partners)
        if if_built and not refreshed:
            return None
        self._analyze_if_grown(written)
        if window_written:
            self._analyze_if_grown(window_written, WINDOW_TABLE)
        self.invalidate_model()
        return written

    @api.model
    def _analyze_if_grown(self, written, table=None):
        """Refresh the statistics of ``table`` (the monthly rows' by default) after a refresh
        that wrote a large share of it (a rebuild): planned with the statistics of an empty
        table, the analysis's pivot sorts its rows on disk instead of hashing them in parallel."""
        table = table or self._table
        self.env.cr.execute(SQL("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", table))
        estimate = self.env.cr.fetchone()[0]
        if written > ANALYZE_SHARE * max(estimate, 0) + ANALYZE_MIN_ROWS:
            self.env.cr.execute(SQL("ANALYZE %s", SQL.identifier(table)))

    @api.model
    def _touched_sql(self, company, since):
        """The customers of ``company`` with a document written by a transaction that the last
        refresh did not see (``since``: the oldest transaction id its snapshot did not see;
        ``age()`` compares transaction ids across their wraparound, and a frozen row is old)."""
        return SQL(
            """
            -- The age of every move is checked first, then the company and type of the few
            -- it keeps: the other way round doubles the scan (OFFSET 0 keeps that order).
            SELECT m.commercial_partner_id AS partner_id
              FROM (SELECT company_id, move_type, commercial_partner_id
                      FROM account_move
                     WHERE age(xmin) <= age(%(since)s::xid)
                    OFFSET 0) m
             WHERE m.company_id = %(company)s AND m.move_type IN ('out_invoice', 'out_refund')
            UNION
            SELECT m.commercial_partner_id
              FROM account_move m
              JOIN account_move_line l ON l.move_id = m.id
              JOIN product_product pp ON pp.id = l.product_id
             WHERE m.company_id = %(company)s AND age(pp.xmin) <= age(%(since)s::xid)
               AND m.move_type IN ('out_invoice', 'out_refund') AND m.state = 'posted'
            UNION
            SELECT m.commercial_partner_id
              FROM sale_order_line sol
              JOIN sale_order_line_invoice_rel rel ON rel.order_line_id = sol.id
              JOIN account_move_line l ON l.id = rel.invoice_line_id
              JOIN account_move m ON m.id = l.move_id
             WHERE sol.company_id = %(company)s AND age(sol.xmin) <= age(%(since)s::xid)
            UNION
            SELECT v.commercial_partner_id FROM kam_visit v
             WHERE v.company_id = %(company)s AND age(v.xmin) <= age(%(since)s::xid)
            UNION
            SELECT e.commercial_partner_id FROM kam_cost_entry e
             WHERE e.company_id = %(company)s AND age(e.xmin) <= age(%(since)s::xid)
            UNION
            SELECT p.partner_id FROM kam_account_fact_pending p WHERE p.company_id = %(company)s
            """,
            company=company.id,
            since=since,
        )

    @api.model
    def _refresh_company(self, company, window, splits, since, months, previous):
        Figures = self.env["kam.figures"]
        if since is None:

            def scope(_company, _partner, _day):
                return SQL("true")

            old_scope = SQL("true")
            touched = SQL("")
        else:
            touched = SQL("touched AS MATERIALIZED (%s),", self._touched_sql(company, since))

            def scope(_company, partner, day):
                touched_partner = SQL("%s IN (SELECT partner_id FROM touched)", partner)
                if not months:
                    return touched_partner
                return SQL(
                    "(%s OR date_trunc('month', %s)::date = ANY(%s::date[]))",
                    touched_partner,
                    day,
                    months,
                )

            old_scope = scope(None, SQL("o.partner_id"), SQL("o.date"))
        rows = Figures.with_context(kam_fact_splits={company.id: splits}, kam_fact_scope=scope)._month_figures_sql(
            company.id
        )
        values = ("partner_id", "date", "user_id", "in_window", *STORED_MEASURES)
        with large_statement(self.env.cr):
            self.env.cr.execute(
                SQL(
                    """
                    WITH %(touched)s
                    computed AS (%(rows)s),
                    new AS (
                        SELECT c.partner_id, c.date, c.user_id,
                               c.date BETWEEN %(date_from)s AND %(date_to)s AS in_window, %(measures)s,
                               c.revenue - c.cost_of_goods AS gross_margin,
                               c.visit_cost + c.other_cost AS cost_to_serve,
                               c.revenue - c.cost_of_goods - c.visit_cost - c.other_cost AS net_contribution
                          FROM computed c
                         WHERE c.revenue <> 0 OR c.cost_of_goods <> 0 OR c.visit_cost <> 0 OR c.other_cost <> 0
                            OR c.visit_count <> 0
                    ),
                    old AS (
                        SELECT o.* FROM kam_account_fact o WHERE o.company_id = %(company)s AND %(old_scope)s
                    ),
                    joined AS MATERIALIZED (
                        SELECT o.id AS old_id, o.partner_id AS old_partner_id, n.*,
                               (%(o_values)s) IS DISTINCT FROM (%(n_values)s) AS differs
                          FROM old o
                          FULL JOIN new n ON n.partner_id = o.partner_id AND n.date = o.date
                                         AND COALESCE(n.user_id, 0) = COALESCE(o.user_id, 0)
                    ),
                    gone AS (
                        DELETE FROM kam_account_fact x USING joined j
                         WHERE x.id = j.old_id AND j.partner_id IS NULL
                        RETURNING 1
                    ),
                    changed AS (
                        UPDATE kam_account_fact x SET %(assignments)s
                          FROM joined j
                         WHERE x.id = j.old_id AND j.partner_id IS NOT NULL AND j.differs
                        RETURNING 1
                    ),
                    added AS (
                        INSERT INTO kam_account_fact (company_id, currency_id, %(columns)s)
                        SELECT %(company)s, %(currency)s, %(j_columns)s
                          FROM joined j
                         WHERE j.old_id IS NULL
                        RETURNING 1
                    ),
                    -- Outside the rows computed again: the window flag, where it changed.
                    kept AS (
                        UPDATE kam_account_fact x
                           SET in_window = NOT x.in_window
                         WHERE x.company_id = %(company)s AND %(moved)s
                           AND x.in_window <> (x.date BETWEEN %(date_from)s AND %(date_to)s)
                           AND NOT EXISTS (SELECT 1 FROM joined j WHERE j.old_id = x.id)
                        RETURNING 1
                    ),
                    cleared AS (
                        DELETE FROM kam_account_fact_pending WHERE company_id = %(company)s RETURNING 1
                    ),
                    -- The oldest transaction this refresh may not see: what it writes, and
                    -- what any later transaction writes, is seen by the next refresh.
                    state AS (
                        INSERT INTO kam_account_fact_state (company_id, since_xid, date_from, date_to)
                        VALUES (%(company)s,
                                mod(txid_snapshot_xmin(txid_current_snapshot()), 4294967296)::text::xid,
                                %(date_from)s, %(date_to)s)
                        ON CONFLICT (company_id) DO UPDATE
                           SET since_xid = EXCLUDED.since_xid, date_from = EXCLUDED.date_from,
                               date_to = EXCLUDED.date_to
                        RETURNING 1
                    )
                    SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM changed)
                           + (SELECT count(*) FROM added) + (SELECT count(*) FROM kept),
                           (SELECT count(*) FROM cleared), (SELECT count(*) FROM state),
                           -- The customers whose window row must follow.
                           (SELECT COALESCE(array_agg(DISTINCT COALESCE(j.partner_id, j.old_partner_id)), '{}')
                              FROM joined j
                             WHERE j.old_id IS NULL OR j.partner_id IS NULL OR j.differs)
                    """,
                    touched=touched,
                    rows=rows,
                    company=company.id,
                    currency=company.currency_id.id,
                    date_from=window[0],
                    date_to=window[1],
                    measures=SQL(", ").join(SQL("c.%s", SQL.identifier(name)) for name, _kind in MEASURES),
                    old_scope=old_scope,
                    # Only the rows between the old and the new ends of the window can change
                    # side: none when the window did not move.
                    moved=SQL("true")
                    if not previous
                    else SQL("false")
                    if tuple(previous) == tuple(window)
                    else SQL(
                        "(x.date BETWEEN %s AND %s OR x.date BETWEEN %s AND %s)",
                        min(previous[0], window[0]),
                        max(previous[0], window[0]),
                        min(previous[1], window[1]),
                        max(previous[1], window[1]) + relativedelta(days=1),
                    ),
                    **_upsert_columns(values),
                )
            )
            written, _cleared, _state, partners = self.env.cr.fetchone()
        # Where the window moved (or every row was computed again), every window row may change.
        if since is None or previous is None or tuple(previous) != tuple(window):
            partners = None
        return written, partners

    @api.model
    def _refresh_window(self, companies, partners=None):
        """Bring the window's rows of ``companies`` (``WINDOW_TABLE``) in line with their monthly
        rows in the classification window: one statement per company that deletes, updates and
        inserts only the rows that differ; only those of the customers ``partners`` (ids) when
        given. Returns the rows written."""
        self.flush_model()
        window = SQL.identifier(WINDOW_TABLE)
        values = ("currency_id", "row_count", *STORED_MEASURES)
        written = 0
        for company in companies:
            self.env.cr.execute(
                SQL(
                    """
                    WITH new AS (
                        SELECT f.partner_id, min(f.currency_id) AS currency_id, count(*)::int AS row_count,
                               %(sums)s
                          FROM kam_account_fact f
                         WHERE f.company_id = %(company)s AND f.in_window AND %(f_scope)s
                         GROUP BY f.partner_id
                    ),
                    joined AS MATERIALIZED (
                        SELECT o.id AS old_id, n.*, (%(o_values)s) IS DISTINCT FROM (%(n_values)s) AS differs
                          FROM (SELECT * FROM %(window)s WHERE company_id = %(company)s AND %(o_scope)s) o
                          FULL JOIN new n ON n.partner_id = o.partner_id
                    ),
                    gone AS (
                        DELETE FROM %(window)s x USING joined j
                         WHERE x.id = j.old_id AND j.partner_id IS NULL
                        RETURNING 1
                    ),
                    changed AS (
                        UPDATE %(window)s x SET %(assignments)s
                          FROM joined j
                         WHERE x.id = j.old_id AND j.partner_id IS NOT NULL AND j.differs
                        RETURNING 1
                    ),
                    added AS (
                        INSERT INTO %(window)s (company_id, partner_id, %(columns)s)
                        SELECT %(company)s, j.partner_id, %(j_columns)s
                          FROM joined j
                         WHERE j.old_id IS NULL
                        RETURNING 1
                    )
                    SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM changed)
                           + (SELECT count(*) FROM added)
                    """,
                    company=company.id,
                    window=window,
                    f_scope=SQL("f.partner_id = ANY(%s)", partners) if partners is not None else SQL("true"),
                    o_scope=SQL("partner_id = ANY(%s)", partners) if partners is not None else SQL("true"),
                    sums=SQL(", ").join(
                        SQL("SUM(f.%s) AS %s", SQL.identifier(name), SQL.identifier(name)) for name in STORED_MEASURES
                    ),
                    **_upsert_columns(values),
                )
            )
            written += self.env.cr.fetchone()[0]
        return written

    @api.model
    def _mark_touched(self, company_partners):
        """Have the next refresh compute again the rows of ``company_partners`` (pairs of ids):
        for documents that leave a customer or are deleted, which no write date shows."""
        pairs = {(c, p) for c, p in company_partners if c and p}
        if not pairs:
            return
        self.env.cr.execute(
            SQL(
                "INSERT INTO kam_account_fact_pending (company_id, partner_id) "
                "SELECT * FROM unnest(%s::int[], %s::int[])",
                [c for c, _p in pairs],
                [p for _c, p in pairs],
            )
        )


def _partners_condition(column, partners):
    """``column`` is one of ``partners``: commercial entity ids, or an SQL SELECT of them."""
    if isinstance(partners, SQL):
        return SQL("%s IN (%s)", column, partners)
    return SQL("%s = ANY(%s)", column, sorted(set(partners)))


def _upsert_columns(values):
    """The column lists of a statement that writes only the rows whose ``values`` changed: old
    (``o``) and new (``n``) values to compare, ``SET`` assignments from the joined row ``j``,
    and the columns to insert with their ``j`` values."""
    return {
        "o_values": SQL(", ").join(SQL("o.%s", SQL.identifier(name)) for name in values),
        "n_values": SQL(", ").join(SQL("n.%s", SQL.identifier(name)) for name in values),
        "assignments": SQL(", ").join(SQL("%s = j.%s", SQL.identifier(name), SQL.identifier(name)) for name in values),
        "columns": SQL(", ").join(SQL.identifier(name) for name in values),
        "j_columns": SQL(", ").join(SQL("j.%s", SQL.identifier(name)) for name in values),
    }


def _conjuncts(domain):
    """The terms of a normalized (prefix) domain that all must hold: its top-level ``&`` operands."""
    position = 0

    def parse():
        nonlocal position
        item = domain[position]
        position += 1
        if item == expression.NOT_OPERATOR:
            return [item, parse()]
        if item in (expression.AND_OPERATOR, expression.OR_OPERATOR):
            return [item, parse(), parse()]
        return tuple(item)

    if not domain:
        return []
    stack, found = [parse()], []
    while stack:
        node = stack.pop()
        if isinstance(node, list) and node[0] == expression.AND_OPERATOR:
            stack.extend(node[1:])
        elif isinstance(node, tuple):
            found.append(node)
    return found


def _is_window_leaf(leaf):
    """Whether ``leaf`` keeps to the rows of the classification window."""
    name, operator, value = leaf
    return name == "in_window" and (
        (operator == "=" and value in (True, 1)) or (operator == "!=" and value in (False, 0))
    )
