from odoo import _, api, fields, models
from odoo.osv import expression
from odoo.tools import SQL, format_date

from ..const import KAM_GROUP, MARGIN_SOURCES, QUADRANTS, RANKING_FLAGS, TIERS
from ..tools.health_rules import BANDS
from .kam_classification import COST_FIGURES, COST_RANKING
from .kam_service_level import TIER_DEFAULTS


def _figure(field_type, string, *args, **kwargs):
    """A cost figure of the partner: read from its classification row in the current company."""
    if field_type is fields.Monetary:
        kwargs["currency_field"] = "kam_currency_id"
    return field_type(*args, string=string, compute="_compute_kam_cost_figures", groups=KAM_GROUP, **kwargs)


class ResPartner(models.Model):
    _inherit = "res.partner"

    # The tier of the current company's classification row, read through ``with_company``.
    # Not stored on the partner: lists filter, group and sort by it through a join
    # (``_field_to_sql``), so a run writes its classification rows and nothing on res_partner.
    kam_tier = fields.Selection(
        TIERS,
        string="Key account tier",
        compute="_compute_kam_tier",
        search="_search_kam_tier",
        copy=False,
    )
    kam_classification_ids = fields.One2many(
        "kam.classification", "partner_id", string="Classifications", groups=KAM_GROUP
    )
    is_key_account = fields.Boolean(
        string="Key account",
        compute="_compute_is_key_account",
        search="_search_is_key_account",
    )
    kam_classification_id = fields.Many2one(
        "kam.classification",
        string="Classification",
        compute="_compute_kam_classification",
        groups=KAM_GROUP,
    )
    kam_manager_id = fields.Many2one(
        "res.users",
        string="Key Account Manager",
        compute="_compute_kam_classification",
        inverse="_inverse_kam_manager_id",
        search="_search_kam_manager_id",
        domain="[('share', '=', False)]",
    )
    kam_user_is_director = fields.Boolean(compute="_compute_kam_user_is_director")
    kam_currency_id = fields.Many2one("res.currency", compute="_compute_kam_classification", groups=KAM_GROUP)
    kam_revenue_12m = fields.Monetary(
        string="Revenue in window",
        currency_field="kam_currency_id",
        compute="_compute_kam_classification",
        groups=KAM_GROUP,
        help="Untaxed revenue over the company's trailing window, in company currency, "
        "as of the last reclassification.",
    )
    kam_rank = fields.Integer(string="Revenue rank", compute="_compute_kam_classification", groups=KAM_GROUP)
    kam_share = fields.Float(string="Share of revenue (%)", compute="_compute_kam_classification", groups=KAM_GROUP)
    kam_cumulative_share = fields.Float(
        string="Cumulative share (%)", compute="_compute_kam_classification", groups=KAM_GROUP
    )
    kam_computed_tier = fields.Selection(
        TIERS, string="Computed tier", compute="_compute_kam_classification", groups=KAM_GROUP
    )
    kam_tier_since = fields.Date(string="Tier since", compute="_compute_kam_classification", groups=KAM_GROUP)
    kam_tier_locked = fields.Boolean(string="Tier locked", compute="_compute_kam_classification", groups=KAM_GROUP)
    kam_lock_reason = fields.Char(string="Lock reason", compute="_compute_kam_classification", groups=KAM_GROUP)
    kam_lock_until = fields.Date(string="Locked until", compute="_compute_kam_classification", groups=KAM_GROUP)
    kam_tier_reason = fields.Char(string="Why this tier", compute="_compute_kam_classification", groups=KAM_GROUP)
    kam_window_label = fields.Char(
        string="Figures over",
        compute="_compute_kam_classification",
        groups=KAM_GROUP,
        help="The trailing window of the last classification run: the revenue, margin and effort "
        "figures of this tab are sums over these dates.",
    )
    kam_classified_on = fields.Date(
        string="Last classification",
        compute="_compute_kam_classification",
        groups=KAM_GROUP,
        help="Date of the company's last reclassification run.",
    )
    kam_tier_history_ids = fields.Many2many(
        "kam.tier.history",
        string="Tier history",
        compute="_compute_kam_classification",
        groups=KAM_GROUP,
    )

    @api.depends("kam_classification_ids.tier")
    @api.depends_context("company")
    def _compute_kam_tier(self):
        rows = (
            self.env["kam.classification"]
            .sudo()
            .search_fetch(
                [("company_id", "=", self.env.company.id), ("partner_id", "in", self._origin.ids)],
                ["partner_id", "tier"],
            )
        )
        tiers = {row.partner_id.id: row.tier for row in rows}
        for partner in self:
            partner.kam_tier = tiers.get(partner._origin.id) or False

    def _search_kam_tier(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            return NotImplemented
        values = list(value) if operator in ("in", "not in") else [value]
        tiers = [tier for tier in values if tier]
        Classification = self.env["kam.classification"].sudo()
        company = [("company_id", "=", self.env.company.id)]
        domains = []
        if tiers:
            rows = Classification._search([*company, ("tier", "in", tiers)])
            domains.append([("id", "in", rows.subselect("partner_id"))])
        if len(tiers) < len(values):
            # "No tier" is also every partner without a classification row.
            rows = Classification._search([*company, ("tier", "!=", False)])
            domains.append([("id", "not in", rows.subselect("partner_id"))])
        domain = expression.OR(domains) if domains else expression.FALSE_DOMAIN
        return ["!", *domain] if operator in ("!=", "not in") else domain

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        """``kam_tier`` in SQL, so that lists group and sort by it: the tier of the current
        company's classification row, joined to the partner (a subquery without a query)."""
        if fname != "kam_tier":
            return super()._field_to_sql(alias, fname, query, flush)
        to_flush = self.env["kam.classification"]._fields["tier"] if flush else None
        row_alias = query.make_alias(alias, "kam_tier") if query is not None else "kam_tier_row"
        condition = SQL(
            "%s = %s AND %s = %s",
            SQL.identifier(row_alias, "partner_id"),
            SQL.identifier(alias, "id"),
            SQL.identifier(row_alias, "company_id"),
            self.env.company.id,
        )
        tier = SQL.identifier(row_alias, "tier", to_flush=to_flush)
        if query is None:
            return SQL("(SELECT %s FROM kam_classification %s WHERE %s)", tier, SQL.identifier(row_alias), condition)
        query.add_join("LEFT JOIN", row_alias, "kam_classification", condition)
        return tier

    @api.depends("kam_tier")
    @api.depends_context("company")
    def _compute_is_key_account(self):
        for partner in self:
            partner.is_key_account = partner.commercial_partner_id.kam_tier == "a"

    def _search_is_key_account(self, operator, value):
        if operator not in ("=", "!="):
            return NotImplemented
        positive = (operator == "=") == bool(value)
        domain = [("commercial_partner_id.kam_tier", "=", "a")]
        return domain if positive else ["!", *domain]

    @api.depends_context("uid")
    def _compute_kam_user_is_director(self):
        is_director = self.env.user.has_group("kam_management.group_kam_director")
        for partner in self:
            partner.kam_user_is_director = is_director

    @api.depends_context("company")
    def _compute_kam_classification(self):
        company = self.env.company
        Classification = self.env["kam.classification"].sudo()
        commercial = self.commercial_partner_id
        rows = Classification.search([("company_id", "=", company.id), ("partner_id", "in", commercial.ids)])
        by_partner = {row.partner_id.id: row for row in rows}
        last_run = (
            self.env["kam.classification.run"]
            .sudo()
            .search([("company_id", "=", company.id)], order="date desc, id desc", limit=1)
        )
        window_label = False
        if last_run:
            date_from, date_to = Classification._window(company, last_run.date)
            window_label = _(
                "%(date_from)s – %(date_to)s",
                date_from=format_date(self.env, date_from),
                date_to=format_date(self.env, date_to),
            )
        for partner in self:
            row = by_partner.get(partner.commercial_partner_id.id, Classification)
            partner.kam_classification_id = row.id
            partner.kam_manager_id = row.manager_id
            partner.kam_currency_id = company.currency_id
            partner.kam_revenue_12m = row.revenue
            partner.kam_rank = row.rank
            partner.kam_share = row.share
            partner.kam_cumulative_share = row.cumulative_share
            partner.kam_computed_tier = row.computed_tier
            partner.kam_tier_since = row.tier_since
            partner.kam_tier_locked = row.locked
            partner.kam_lock_reason = row.lock_reason
            partner.kam_lock_until = row.lock_until
            partner.kam_tier_reason = row.tier_reason
            partner.kam_classified_on = last_run.date
            partner.kam_window_label = window_label
            partner.kam_tier_history_ids = row.history_ids

    def _inverse_kam_manager_id(self):
        company = self.env.company
        Classification = self.env["kam.classification"]
        for partner in self:
            commercial = partner.commercial_partner_id
            row = Classification.search([("company_id", "=", company.id), ("partner_id", "=", commercial.id)], limit=1)
            if row:
                if row.manager_id != partner.kam_manager_id:
                    row.manager_id = partner.kam_manager_id
            elif partner.kam_manager_id:
                Classification.create(
                    {"company_id": company.id, "partner_id": commercial.id, "manager_id": partner.kam_manager_id.id}
                )._post_manager_change()

    def _search_kam_manager_id(self, operator, value):
        Classification = self.env["kam.classification"].sudo()
        company_domain = [("company_id", "=", self.env.company.id)]
        if operator in ("=", "!=") and not value:
            # "No manager" must also match customers that have no classification row.
            rows = Classification._search([*company_domain, ("manager_id", "!=", False)])
            negate = operator == "="
            return [("commercial_partner_id", "not in" if negate else "in", rows.subselect("partner_id"))]
        rows = Classification._search([*company_domain, ("manager_id", operator, value)])
        return [("commercial_partner_id", "in", rows.subselect("partner_id"))]

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_kam_lock_tier(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Lock key account tier"),
            "res_model": "kam.tier.lock.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_partner_id": self.commercial_partner_id.id,
                "default_company_id": self.env.company.id,
                "default_tier": self.commercial_partner_id.kam_tier or "a",
            },
        }

    def action_kam_unlock_tier(self):
        self.ensure_one()
        self.kam_classification_id.action_unlock()

    def action_kam_view_history(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Tier history"),
            "res_model": "kam.tier.history",
            "view_mode": "list,form",
            "domain": [("partner_id", "=", self.commercial_partner_id.id), ("company_id", "=", self.env.company.id)],
        }

    # A stakeholder list sits inside its account: the contact's own name is enough there.
    @api.depends_context("kam_contact_name_only")
    def _compute_display_name(self):
        res = super()._compute_display_name()
        if self.env.context.get("kam_contact_name_only"):
            for partner in self:
                if partner.parent_id and not partner.is_company and partner.name:
                    partner.display_name = partner.name
        return res

    # ------------------------------------------------------------------
    # Cost to serve
    # ------------------------------------------------------------------
    kam_invoiced_revenue = _figure(
        fields.Monetary,
        "Invoiced revenue",
        help="Untaxed invoiced revenue over the company's trailing window, as of the last refresh of the cost figures.",
    )
    kam_cost_of_goods = _figure(fields.Monetary, "Cost of goods")
    kam_gross_margin = _figure(fields.Monetary, "Gross margin")
    kam_margin_source = _figure(
        fields.Selection,
        "Cost of goods from",
        MARGIN_SOURCES,
        help="Invoices made from sales orders take the cost on the order lines (sale margin); "
        "other invoice lines take the product's cost.",
    )
    kam_visit_cost = _figure(fields.Monetary, "Cost of visits")
    kam_other_cost = _figure(fields.Monetary, "Other costs to serve")
    kam_cost_to_serve = _figure(
        fields.Monetary,
        "Cost to serve",
        help="Visits done plus other costs to serve over the window, in company currency.",
    )
    kam_net_contribution = _figure(fields.Monetary, "Net contribution", help="Gross margin minus cost to serve.")
    kam_visit_count = _figure(fields.Integer, "Visits done in window")
    kam_visit_hours = _figure(fields.Float, "Hours spent")
    kam_cost_share = _figure(fields.Float, "Cost to serve (% of revenue)")
    kam_revenue_per_visit = _figure(fields.Monetary, "Revenue per visit")
    kam_quadrant = _figure(fields.Selection, "Value / effort", QUADRANTS)
    kam_contribution_rank = _figure(fields.Integer, "Contribution rank")
    kam_ranking_flag = _figure(fields.Selection, "Ranking warning", RANKING_FLAGS)
    # The smart button: the visits done to the customer over the company's trailing window
    # ending today (exact to the day), counted and priced alike, and the planned ones apart.
    kam_visit_record_count = fields.Integer(string="Done visits in window", compute="_compute_kam_visit_record_count")
    kam_visit_record_cost = fields.Monetary(
        string="Cost of the done visits in window",
        currency_field="kam_currency_id",
        compute="_compute_kam_visit_record_cost",
        groups=KAM_GROUP,
    )
    kam_visit_planned_count = fields.Integer(
        string="Planned visits", compute="_compute_kam_visit_record_count", help="Visits planned, whatever their date."
    )
    kam_visit_record_window = fields.Char(
        string="Visits counted", compute="_compute_kam_visit_record_count", help="What the visit button counts."
    )

    @api.depends_context("company")
    def _compute_kam_cost_figures(self):
        rows = (
            self.env["kam.classification"]
            .sudo()
            .search([("company_id", "=", self.env.company.id), ("partner_id", "in", self.commercial_partner_id.ids)])
        )
        by_partner = {row.partner_id.id: row for row in rows}
        empty = self.env["kam.classification"]
        for partner in self:
            row = by_partner.get(partner.commercial_partner_id.id, empty)
            for name in (*COST_FIGURES, *COST_RANKING):
                partner[f"kam_{name}"] = row[name]

    def _kam_visit_window(self):
        """``(first day, today)``: the company's trailing window ending today, that the visit button counts."""
        today = self.env.context.get("kam_today") or fields.Date.context_today(self)
        return self.env["kam.classification"]._window(self.env.company, today)

    def _kam_done_visits_domain(self):
        date_from, date_to = self._kam_visit_window()
        return [
            ("commercial_partner_id", "in", self.commercial_partner_id.ids),
            ("state", "=", "done"),
            ("date", ">=", date_from),
            ("date", "<=", date_to),
        ]

    @api.depends_context("uid", "allowed_company_ids", "kam_today")
    def _compute_kam_visit_record_count(self):
        Visit = self.env["kam.visit"]
        done = dict(
            Visit._read_group(
                self._kam_done_visits_domain(), ["commercial_partner_id"], ["__count"], order="commercial_partner_id"
            )
        )
        planned = dict(
            Visit._read_group(
                [("commercial_partner_id", "in", self.commercial_partner_id.ids), ("state", "=", "planned")],
                ["commercial_partner_id"],
                ["__count"],
                order="commercial_partner_id",
            )
        )
        window = _("Done, last %(months)s months", months=self.env.company.kam_window_months)
        for partner in self:
            partner.kam_visit_record_count = done.get(partner.commercial_partner_id, 0)
            partner.kam_visit_planned_count = planned.get(partner.commercial_partner_id, 0)
            partner.kam_visit_record_window = window

    @api.depends_context("uid", "allowed_company_ids", "kam_today")
    def _compute_kam_visit_record_cost(self):
        costs = dict(
            self.env["kam.visit"]._read_group(
                self._kam_done_visits_domain(), ["commercial_partner_id"], ["cost:sum"], order="commercial_partner_id"
            )
        )
        for partner in self:
            partner.kam_visit_record_cost = costs.get(partner.commercial_partner_id, 0.0)

    def action_kam_view_visits(self):
        """The customer's visits since the window's start and those planned, filtered on the done ones:
        the list shows what the button counts; removing the filter shows the planned ones too."""
        self.ensure_one()
        commercial = self.commercial_partner_id
        date_from = self._kam_visit_window()[0]
        return self.env["kam.visit"]._action_for(
            _(
                "Visits to %(customer)s since %(date)s",
                customer=commercial.display_name,
                date=format_date(self.env, date_from),
            ),
            [
                ("commercial_partner_id", "=", commercial.id),
                "|",
                ("state", "=", "planned"),
                ("date", ">=", date_from),
            ],
            {"default_partner_id": self.id, "search_default_done": 1},
        )

    def action_kam_view_planned_visits(self):
        self.ensure_one()
        commercial = self.commercial_partner_id
        return self.env["kam.visit"]._action_for(
            _("Visits planned with %(customer)s", customer=commercial.display_name),
            [("commercial_partner_id", "=", commercial.id), ("state", "=", "planned")],
            {"default_partner_id": self.id},
        )

    # ------------------------------------------------------------------
    # KPI snapshots and health
    # ------------------------------------------------------------------
    # The account's latest KPI snapshot in the current company: its health, one click from its evolution.
    kam_kpi_snapshot_id = fields.Many2one(
        "kam.kpi.snapshot", string="Latest KPI snapshot", compute="_compute_kam_kpi_snapshot", groups=KAM_GROUP
    )
    kam_health_score = fields.Integer(string="Health", compute="_compute_kam_kpi_snapshot", groups=KAM_GROUP)
    kam_health_band = fields.Selection(
        BANDS, string="Health band", compute="_compute_kam_kpi_snapshot", groups=KAM_GROUP
    )

    @api.depends_context("company", "uid")
    def _compute_kam_kpi_snapshot(self):
        snapshots = self.env["kam.kpi.snapshot"].search(
            [
                ("company_id", "=", self.env.company.id),
                ("partner_id", "in", self.commercial_partner_id.ids),
                ("is_latest", "=", True),
            ]
        )
        by_partner = {snapshot.partner_id.id: snapshot for snapshot in snapshots}
        for partner in self:
            snapshot = by_partner.get(partner.commercial_partner_id.id, snapshots.browse())
            partner.kam_kpi_snapshot_id = snapshot
            partner.kam_health_score = snapshot.health_score
            partner.kam_health_band = snapshot.health_band

    def action_kam_open_kpis(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "kam.kpi.snapshot",
            "res_id": self.kam_kpi_snapshot_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    def action_kam_open_evolution(self):
        self.ensure_one()
        return self.env["kam.kpi.snapshot"]._evolution_action(self.commercial_partner_id, self.env.company)

    # ------------------------------------------------------------------
    # Account plans
    # ------------------------------------------------------------------
    kam_plan_count = fields.Integer(
        string="Account plans", compute="_compute_kam_plan_count", groups="sales_team.group_sale_salesman"
    )

    def _compute_kam_plan_count(self):
        counts = self.env["kam.account.plan"]._plan_counts(self.commercial_partner_id)
        for partner in self:
            partner.kam_plan_count = counts.get(partner.commercial_partner_id.id, 0)

    def action_view_kam_plans(self):
        self.ensure_one()
        return self.env["kam.account.plan"]._action_for_account(self.commercial_partner_id)

    # ------------------------------------------------------------------
    # KAM team
    # ------------------------------------------------------------------
    @api.onchange("kam_manager_id")
    def _onchange_kam_manager_id_maximum(self):
        """Warn, without blocking, when the new KAM goes past the maximum of key accounts."""
        partner = self.commercial_partner_id
        company = self.env.company
        if not self.kam_manager_id or partner.with_company(company).kam_tier != "a":
            return None
        if self.kam_manager_id == self._origin.kam_manager_id:
            return None
        message = self.env["kam.classification"]._maximum_warning(self.kam_manager_id, company, 1)
        if message:
            return {"warning": {"title": _("Over the maximum of key accounts"), "message": message}}
        return None

    # ------------------------------------------------------------------
    # Service levels
    # ------------------------------------------------------------------
    # The service level of the customer's tier in the current company, and whether it keeps
    # its own terms there (kept on the classification row, which directors write).
    kam_service_level_id = fields.Many2one(
        "kam.service.level", string="Service level", compute="_compute_kam_service_level", groups=KAM_GROUP
    )
    kam_keep_terms = fields.Boolean(
        string="Keep my terms",
        compute="_compute_kam_service_level",
        inverse="_inverse_kam_keep_terms",
        groups=KAM_GROUP,
        help="The service levels never change this customer's pricelist or payment terms in this company.",
    )
    kam_contact_interval = fields.Integer(
        string="Contact interval (days)", compute="_compute_kam_service_level", groups=KAM_GROUP
    )
    kam_survey_months = fields.Integer(
        string="Survey every (months)", compute="_compute_kam_service_level", groups=KAM_GROUP
    )

    @api.depends_context("company")
    def _compute_kam_service_level(self):
        company = self.env.company
        rows = (
            self.env["kam.classification"]
            .sudo()
            .search([("company_id", "=", company.id), ("partner_id", "in", self.commercial_partner_id.ids)])
        )
        by_partner = {row.partner_id.id: row for row in rows}
        levels = self.env["kam.service.level"].sudo().search([("company_id", "=", company.id)])
        by_tier = {level.tier: level for level in levels}
        for partner in self:
            row = by_partner.get(partner.commercial_partner_id.id)
            tier = (row.tier if row else False) or "none"
            level = by_tier.get(tier, levels.browse())
            partner.kam_service_level_id = level
            # A tier without a level follows the defaults, as the KPI run and the cadence job do.
            interval, months, _required = TIER_DEFAULTS.get(tier, TIER_DEFAULTS["none"])
            partner.kam_contact_interval = level.contact_interval if level else interval
            partner.kam_survey_months = level.survey_months if level else months
            partner.kam_keep_terms = bool(row and row.keep_terms)

    def _inverse_kam_keep_terms(self):
        company = self.env.company
        Classification = self.env["kam.classification"]
        for partner in self:
            commercial = partner.commercial_partner_id
            row = Classification.search([("company_id", "=", company.id), ("partner_id", "=", commercial.id)], limit=1)
            if row:
                if row.keep_terms != partner.kam_keep_terms:
                    row.keep_terms = partner.kam_keep_terms
            elif partner.kam_keep_terms:
                Classification.create({"company_id": company.id, "partner_id": commercial.id, "keep_terms": True})

    def action_kam_reapply_service_level(self):
        """Re-apply the service level of their tier to these customers, their own terms included."""
        return self.env["kam.service.level.apply.wizard"]._open(
            self.env.company, partners=self.commercial_partner_id, force=True
        )

    # ------------------------------------------------------------------
    # Customer surveys: the customer's own voice, per company
    # ------------------------------------------------------------------
    kam_nps = fields.Float(
        string="NPS (12 months)",
        compute="_compute_kam_survey_figures",
        groups=KAM_GROUP,
        help="Net Promoter Score of the account's answers over the last 12 months: promoters (9–10) "
        "minus detractors (0–6), in % of the answers, from −100 to 100.",
    )
    kam_nps_latest = fields.Float(
        string="Latest NPS",
        compute="_compute_kam_survey_figures",
        groups=KAM_GROUP,
        help="Net Promoter Score of the last round of answers (the 90 days up to the last answer).",
    )
    kam_survey_satisfaction = fields.Float(
        string="Customer satisfaction (0–10)",
        compute="_compute_kam_survey_figures",
        groups=KAM_GROUP,
        help="Mean of the answers to the satisfaction questions over the last 12 months, on 0–10.",
    )
    kam_survey_response_rate = fields.Float(
        string="Survey response rate (%)",
        compute="_compute_kam_survey_figures",
        groups=KAM_GROUP,
        help="Share of the invitations of the last 12 months that were answered.",
    )
    kam_survey_answer_count = fields.Integer(
        string="Survey answers (12 months)", compute="_compute_kam_survey_figures", groups=KAM_GROUP
    )
    kam_survey_last_answer_date = fields.Date(
        string="Last survey answer", compute="_compute_kam_survey_figures", groups=KAM_GROUP
    )
    kam_survey_open_detractor_count = fields.Integer(
        string="Detractors to call back", compute="_compute_kam_survey_figures", groups=KAM_GROUP
    )

    @api.depends_context("company")
    def _compute_kam_survey_figures(self):
        figures = self.env["survey.user_input"]._kam_survey_figures(
            self.env.company, fields.Date.context_today(self), self.commercial_partner_id.ids
        )
        for partner in self:
            row = figures.get(partner.commercial_partner_id.id) or {}
            partner.kam_nps = row.get("nps") or 0.0
            partner.kam_nps_latest = row.get("nps_latest") or 0.0
            partner.kam_survey_satisfaction = row.get("satisfaction") or 0.0
            partner.kam_survey_response_rate = row.get("response_rate") or 0.0
            partner.kam_survey_answer_count = row.get("answer_count") or 0
            partner.kam_survey_last_answer_date = row.get("last_answer_date") or False
            partner.kam_survey_open_detractor_count = row.get("open_detractor_count") or 0

    def action_kam_invite_survey(self):
        """Open the invitation wizard for the account of this contact, in the current company."""
        self.ensure_one()
        return self.env["kam.survey.invite.wizard"].action_open(self.commercial_partner_id, self.env.company)

    def action_kam_view_survey_answers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("kam_management.action_kam_survey_answers")
        action["domain"] = [
            ("kam_account_id", "=", self.commercial_partner_id.id),
            ("kam_company_id", "=", self.env.company.id),
        ]
        action["context"] = {}
        return action
