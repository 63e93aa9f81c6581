from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.tools import SQL

from ..const import MARGIN_SOURCES, QUADRANTS, RANKING_FLAGS, TIERS
from .kam_classification import COST_FIGURES, COST_RANKING


class KamTierHistory(models.Model):
    """One row per change of a customer's tier in a company, by the engine or by hand.

    Append-only: ``date`` and ``user_id`` say when and by whom, so the ORM's create and write
    stamps are not kept. A run writes one line per tier change, so a line stores only what
    is its own: the customer and the company are the classification row's, and the user of
    an engine line is its run's (``manual_user_id`` is kept for changes by hand).
    """

    _name = "kam.tier.history"
    _description = "Key account tier history"
    _order = "date desc, id desc"
    _rec_name = "partner_id"
    _log_access = False

    classification_id = fields.Many2one("kam.classification", required=True, index=True, ondelete="cascade")
    run_id = fields.Many2one("kam.classification.run", index=True, ondelete="set null")
    company_id = fields.Many2one(related="classification_id.company_id")
    partner_id = fields.Many2one(related="classification_id.partner_id", string="Customer")
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(required=True, default=fields.Date.context_today)
    old_tier = fields.Selection(TIERS, string="Previous tier")
    new_tier = fields.Selection(TIERS, string="New tier")
    revenue = fields.Monetary(currency_field="currency_id")
    share = fields.Float(string="Share (%)")
    cumulative_share = fields.Float(string="Cumulative share (%)")
    rank = fields.Integer()
    cause = fields.Selection([("engine", "Reclassification"), ("manual", "Manual")], required=True, default="manual")
    user_id = fields.Many2one("res.users", string="By", compute="_compute_user_id", search="_search_user_id")
    manual_user_id = fields.Many2one(
        "res.users", string="Changed by hand by", default=lambda self: self.env.user, ondelete="set null"
    )

    @api.depends("cause", "manual_user_id", "run_id.user_id")
    def _compute_user_id(self):
        for line in self:
            line.user_id = line.manual_user_id if line.cause == "manual" else line.run_id.user_id

    def _search_user_id(self, operator, value):
        if operator not in ("=", "in"):
            return NotImplemented
        return [
            "|",
            "&",
            ("cause", "=", "manual"),
            ("manual_user_id", operator, value),
            "&",
            ("cause", "=", "engine"),
            ("run_id.user_id", operator, value),
        ]

    # ------------------------------------------------------------------
    # Written by the engine, inside its statement (kam.classification._apply_stage)
    # ------------------------------------------------------------------
    @api.model
    def _engine_history_values(self):
        """``{column: expression}`` of a history line, over a row ``m`` of the run's stage
        (its new values, ``old_tier`` and ``classification_id``)."""
        values = {
            "classification_id": SQL("m.classification_id"),
            "old_tier": SQL("m.old_tier"),
            "new_tier": SQL("m.tier"),
            "revenue": SQL("m.revenue"),
            "share": SQL("m.share"),
            "cumulative_share": SQL("m.cumulative_share"),
            "rank": SQL("m.rank"),
        }
        if not self.env.context.get("kam_without_cost_figures"):
            # A run's history lines keep the cost figures the run computed for the customer.
            values.update((name, SQL("m.%s", SQL.identifier(name))) for name in (*COST_FIGURES, *COST_RANKING))
        return values

    @api.model
    def _engine_history_sql(self, run, run_date, source):
        """The INSERT of one history line per row of ``source`` (the tier changes of ``run``)."""
        values = self._engine_history_values()
        return SQL(
            """
            INSERT INTO kam_tier_history (run_id, date, cause, %(columns)s)
            SELECT %(run)s, %(date)s, 'engine', %(values)s
              FROM %(source)s m
            RETURNING 1
            """,
            columns=SQL(", ").join(SQL.identifier(name) for name in values),
            values=SQL(", ").join(values.values()),
            run=run.id,
            date=run_date,
            source=SQL.identifier(source),
        )

    @api.model
    def _engine_notes_sql(self, company, source, initial):
        """The INSERT of the customers' chatter notes for the tier changes of ``source``.

        A change of an existing tier, and any gain or loss of A, is noted on the customer. A
        first classification is not, but for a new key account after the company's initial
        classification (``initial``: an SQL condition): its history line says it, and the
        run sums them up. The body is built by the database from a template translated once.
        """
        labels = dict(self._fields["new_tier"]._description_selection(self.env))
        none_label = self.env._("not classified")

        def label(tier):
            return SQL(
                "CASE %s WHEN 'a' THEN %s WHEN 'b' THEN %s WHEN 'c' THEN %s ELSE %s END",
                tier,
                *(str(escape(labels.get(t, none_label))) for t in ("a", "b", "c")),
                str(escape(none_label)),
            )

        template = self.env._(
            "Key account tier in %(company)s: %(old)s → %(new)s (revenue %(revenue)s %(currency)s, share %(share)s %%)."
        )
        # Placeholders that HTML escaping leaves alone, then format()'s own: %1$s … %4$s.
        slots = {"old": "\x011\x02", "new": "\x012\x02", "revenue": "\x013\x02", "share": "\x014\x02"}
        body = str(
            Markup("<p>%s</p>") % (template % {"company": company.name, "currency": company.currency_id.name, **slots})
        ).replace("%", "%%")
        for number in range(1, 5):
            body = body.replace(f"\x01{number}\x02", f"%{number}$s")
        now = fields.Datetime.now()
        return SQL(
            """
            INSERT INTO mail_message (
                model, res_id, record_company_id, message_type, subtype_id, body, author_id,
                date, create_uid, create_date, write_uid, write_date)
            SELECT 'res.partner', m.partner_id, %(company)s, 'notification', %(subtype)s,
                   format(%(body)s, %(old)s, %(new)s,
                          to_char(m.revenue, 'FM999,999,999,999,999,990.00'), to_char(m.share, 'FM9990.0')),
                   %(author)s, %(now)s, %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM %(source)s m
             WHERE m.old_tier IS NOT NULL OR (m.tier = 'a' AND NOT %(initial)s)
            RETURNING 1
            """,
            initial=initial,
            company=company.id,
            subtype=self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note"),
            body=body,
            old=label(SQL("m.old_tier")),
            new=label(SQL("m.tier")),
            author=self.env.user.partner_id.id,
            now=now,
            uid=self.env.uid,
            source=SQL.identifier(source),
        )

    # ------------------------------------------------------------------
    # Cost to serve
    # ------------------------------------------------------------------
    # A tier change keeps the cost figures of the customer as the run that made it saw them.
    invoiced_revenue = fields.Monetary(readonly=True, currency_field="currency_id", string="Invoiced revenue")
    cost_of_goods = fields.Monetary(string="Cost of goods", readonly=True, currency_field="currency_id")
    gross_margin = fields.Monetary(readonly=True, currency_field="currency_id", string="Gross margin")
    margin_source = fields.Selection(MARGIN_SOURCES, string="Cost of goods from", readonly=True)
    visit_cost = fields.Monetary(string="Cost of visits", readonly=True, currency_field="currency_id")
    other_cost = fields.Monetary(string="Other costs to serve", readonly=True, currency_field="currency_id")
    cost_to_serve = fields.Monetary(readonly=True, currency_field="currency_id", string="Cost to serve")
    net_contribution = fields.Monetary(readonly=True, currency_field="currency_id", string="Net contribution")
    visit_count = fields.Integer(string="Visits done", readonly=True)
    visit_hours = fields.Float(string="Hours spent", readonly=True)
    cost_share = fields.Float(string="Cost to serve (% of revenue)", readonly=True)
    revenue_per_visit = fields.Monetary(readonly=True, currency_field="currency_id", string="Revenue per visit")
    quadrant = fields.Selection(QUADRANTS, readonly=True)
    contribution_rank = fields.Integer(readonly=True, string="Contribution rank")
    ranking_flag = fields.Selection(RANKING_FLAGS, string="Ranking warning", readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        """Rows written by hand (a tier lock) copy the figures of their classification row."""
        lines = super().create(vals_list)
        classified = lines.filtered("classification_id")
        if classified:
            self._copy_cost_figures(SQL("h.id = ANY(%s)", classified.ids))
        return lines

    @api.model
    def _copy_cost_figures(self, where):
        self.env["kam.classification"].flush_model([*COST_FIGURES, *COST_RANKING])
        self.flush_model(["classification_id"])
        columns = (*COST_FIGURES, *COST_RANKING)
        self.env.cr.execute(
            SQL(
                "UPDATE kam_tier_history h SET %s FROM kam_classification k WHERE k.id = h.classification_id AND %s",
                SQL(", ").join(SQL("%s = k.%s", SQL.identifier(c), SQL.identifier(c)) for c in columns),
                where,
            )
        )
        self.invalidate_model(list(columns))

    # ------------------------------------------------------------------
    # Service levels
    # ------------------------------------------------------------------
    # What the new tier's service level did to the customer's terms (kam.service.level._record_terms).
    service_terms = fields.Char(
        string="Terms",
        readonly=True,
        help="The terms the service level of the new tier changed, and those the customer kept.",
    )
