from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..const import DIRECTOR_GROUP, TIERS

# A service level per tier, and one for the customers that have no tier.
SERVICE_TIERS = [*TIERS, ("none", "Not classified")]

# The terms a service level sets on a customer: (key, column of res_partner, table of the value,
# column of kam_classification keeping what the service levels last applied). The pricelist is
# the one set on the customer itself (``specific_property_product_pricelist``): Odoo falls
# back to the country's or the company's when it is empty.
TERMS = (
    ("pricelist", "specific_property_product_pricelist", "product_pricelist", "sl_pricelist_id"),
    ("payment_term", "property_payment_term_id", "account_payment_term", "sl_payment_term_id"),
)
# Columns of res_partner that hold one value per company (JSONB ``{company_id: value}``).
COMPANY_DEPENDENT = ("specific_property_product_pricelist", "property_payment_term_id")
# What a tier gets when its company has no service level for it, and what a new service level of
# the tier starts with: (contact interval in days, survey cadence in months, KAM required).
# 0 means never (no contact reminder, no survey).
TIER_DEFAULTS = {
    "a": (30, 6, True),
    "b": (90, 12, False),
    "c": (0, 0, False),
    "none": (0, 0, False),
}
# The longest survey cadence a director can enter, in months.
MAX_SURVEY_MONTHS = 60
# What applying a service level does with one term of one customer.
TERM_ACTIONS = [
    ("apply", "Applied"),
    ("kept_own", "Kept: the customer's own terms"),
    ("kept_flag", "Kept: keep my terms"),
]


class KamServiceLevel(models.Model):
    """What a tier gets in a company: its terms, its contact interval, its survey cadence,
    whether it needs a Key Account Manager, and its activity plans.

    One record per company and tier; an empty term leaves the customers' value alone. A tier
    without a record gets ``TIER_DEFAULTS`` (``_tier_rules_sql``), what a new record starts with. The
    engine applies the new tier's level to the customers whose tier it changes, in the run's
    transaction; directors apply a level on demand (``kam.service.level.apply.wizard``).
    """

    _name = "kam.service.level"
    _description = "Key account service level"
    _order = "company_id, tier"
    _rec_name = "tier"

    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    tier = fields.Selection(SERVICE_TIERS, required=True)
    pricelist_id = fields.Many2one(
        "product.pricelist",
        domain="[('company_id', 'in', (company_id, False))]",
        help="Set on the customers that gain the tier; empty leaves their pricelist alone.",
    )
    payment_term_id = fields.Many2one(
        "account.payment.term",
        string="Payment terms",
        domain="[('company_id', 'in', (company_id, False))]",
        help="Set on the customers that gain the tier; empty leaves their payment terms alone.",
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales team",
        domain="[('company_id', 'in', (company_id, False))]",
        help="The default sales team of new quotations and opportunities of the tier's customers: kept when "
        "their salesperson belongs to it or to no team, as Odoo does with a default team. Empty: the "
        "salesperson's team, as usual. Confirmed orders keep theirs.",
    )
    activity_plan_id = fields.Many2one(
        "mail.activity.plan",
        string="Plan on gaining the tier",
        domain="[('res_model', '=', 'res.partner'), ('company_id', 'in', (company_id, False))]",
        help="Activity plan launched on the customer when a reclassification promotes it into this tier "
        "(for A: kick-off meeting, account plan, introduction of the KAM).",
    )
    demotion_plan_id = fields.Many2one(
        "mail.activity.plan",
        string="Plan on losing the tier",
        domain="[('res_model', '=', 'res.partner'), ('company_id', 'in', (company_id, False))]",
        help="Activity plan launched on the customer when a reclassification demotes it from this tier "
        "(a hand-over plan).",
    )
    contact_interval = fields.Integer(
        string="Contact interval (days)",
        compute="_compute_tier_defaults",
        store=True,
        readonly=False,
        precompute=True,
        help="An account of the tier followed by the daily KPI snapshot and not contacted for longer "
        "gets a to-do for its KAM. 0: no contact reminder for this tier.",
    )
    survey_months = fields.Integer(
        string="Survey every (months)",
        compute="_compute_tier_defaults",
        store=True,
        readonly=False,
        precompute=True,
        help="How often the contacts of the tier's accounts are invited to the customer survey. 0: never.",
    )
    kam_required = fields.Boolean(
        string="Key Account Manager required",
        compute="_compute_tier_defaults",
        store=True,
        readonly=False,
        precompute=True,
        help="A customer that gains the tier without a Key Account Manager goes on the directors' to-do list "
        "after the reclassification.",
    )
    to_apply = fields.Boolean(
        string="Changed since applied",
        readonly=True,
        help="The terms changed since they were last applied to the customers of the tier.",
    )

    _sql_constraints = [
        ("company_tier_uniq", "unique(company_id, tier)", "A company has one service level per tier."),
    ]

    @api.depends("tier", "company_id")
    def _compute_display_name(self):
        labels = dict(self._fields["tier"]._description_selection(self.env))
        for level in self:
            level.display_name = _(
                "%(tier)s (%(company)s)", tier=labels.get(level.tier, ""), company=level.company_id.name
            )

    @api.depends("tier")
    def _compute_tier_defaults(self):
        for level in self:
            level.contact_interval, level.survey_months, level.kam_required = TIER_DEFAULTS.get(
                level.tier, TIER_DEFAULTS["none"]
            )

    @api.constrains("contact_interval", "survey_months")
    def _check_rules(self):
        for level in self:
            if level.contact_interval < 0:
                raise ValidationError(
                    _(
                        "The contact interval of %(level)s cannot be negative: enter a number of days, "
                        "or 0 for no contact reminder.",
                        level=level.display_name,
                    )
                )
            if not 0 <= level.survey_months <= MAX_SURVEY_MONTHS:
                raise ValidationError(
                    _(
                        "The survey cadence of %(level)s must be from 0 (never) to %(max)s months.",
                        level=level.display_name,
                        max=MAX_SURVEY_MONTHS,
                    )
                )

    @api.constrains("company_id", "pricelist_id", "payment_term_id", "team_id", "activity_plan_id", "demotion_plan_id")
    def _check_company_terms(self):
        for level in self:
            for name in ("pricelist_id", "payment_term_id", "team_id", "activity_plan_id", "demotion_plan_id"):
                value = level[name]
                if value and value.company_id and value.company_id != level.company_id:
                    raise ValidationError(
                        _(
                            "The %(field)s %(value)s belongs to %(other)s: the service levels of %(company)s "
                            "can only use its own or shared ones. Choose another one.",
                            field=level._fields[name]._description_string(self.env).lower(),
                            value=value.display_name,
                            other=value.company_id.name,
                            company=level.company_id.name,
                        )
                    )
            if level.pricelist_id and not level.pricelist_id.active:
                raise ValidationError(
                    _(
                        "The pricelist %(pricelist)s is archived: restore it or choose an active one.",
                        pricelist=level.pricelist_id.display_name,
                    )
                )
            for plan in level.activity_plan_id | level.demotion_plan_id:
                if plan.res_model != "res.partner":
                    raise ValidationError(
                        _(
                            "The activity plan %(plan)s is not made for contacts: choose a plan of the Contact model.",
                            plan=plan.display_name,
                        )
                    )

    def write(self, vals):
        if {"pricelist_id", "payment_term_id"} & set(vals) and "to_apply" not in vals:
            vals = dict(vals, to_apply=True)
        return super().write(vals)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_open_apply_wizard(self):
        """Preview, then apply, this level to the customers already in its tier."""
        self.ensure_one()
        return self.env["kam.service.level.apply.wizard"]._open(self.company_id, tier=self.tier)

    @api.model
    def action_open_adoption_wizard(self):
        """Apply every level of the current company to its existing classification."""
        return self.env["kam.service.level.apply.wizard"]._open(self.env.company)

    # ------------------------------------------------------------------
    # Per-tier rules: contact interval, survey cadence, KAM required
    # ------------------------------------------------------------------
    @api.model
    def _tier_rules_sql(self, company_ids=None):
        """A relation of one row per company and tier (``none`` included) with the tier's rules:
        ``company_id, tier, contact_interval`` (NULL: no contact reminder), ``survey_months``
        (0: never) and ``kam_required``. A tier without a service level gets ``TIER_DEFAULTS``.
        Callers flush this model (``flush_model``) before running it."""
        defaults = SQL(", ").join(
            SQL("(%s, %s, %s, %s)", tier, interval, months, required)
            for tier, (interval, months, required) in TIER_DEFAULTS.items()
        )
        where = SQL("WHERE c.id = ANY(%s)", list(company_ids)) if company_ids is not None else SQL()
        return SQL(
            """
            SELECT c.id AS company_id, d.tier,
                   NULLIF(CASE WHEN l.id IS NULL THEN d.contact_interval ELSE l.contact_interval END, 0)
                       AS contact_interval,
                   CASE WHEN l.id IS NULL THEN d.survey_months ELSE COALESCE(l.survey_months, 0) END AS survey_months,
                   CASE WHEN l.id IS NULL THEN d.kam_required ELSE COALESCE(l.kam_required, false) END AS kam_required
              FROM res_company c
             CROSS JOIN (VALUES %(defaults)s) AS d(tier, contact_interval, survey_months, kam_required)
              LEFT JOIN kam_service_level l ON l.company_id = c.id AND l.tier = d.tier
             %(where)s
            """,
            defaults=defaults,
            where=where,
        )

    @api.model
    def _teams_of_customers(self, pairs):
        """``{(partner id, company id): sales team id}`` for the ``(partner id, company id)`` pairs
        whose customer's tier in that company has a service level with a sales team; one query."""
        pairs = {(partner_id, company_id) for partner_id, company_id in pairs if partner_id and company_id}
        if not pairs:
            return {}
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["kam.classification"].flush_model(["company_id", "partner_id", "tier"])
        self.flush_model(["company_id", "tier", "team_id"])
        partner_ids, company_ids = zip(*pairs, strict=True)
        self.env.cr.execute(
            SQL(
                """
                SELECT x.partner_id, x.company_id, l.team_id
                  FROM unnest(%s::int[], %s::int[]) AS x(partner_id, company_id)
                  JOIN res_partner p ON p.id = x.partner_id
                  LEFT JOIN kam_classification k ON k.company_id = x.company_id
                                                AND k.partner_id = p.commercial_partner_id
                  JOIN kam_service_level l ON l.company_id = x.company_id AND l.tier = COALESCE(k.tier, 'none')
                 WHERE l.team_id IS NOT NULL
                """,
                list(partner_ids),
                list(company_ids),
            )
        )
        return {(partner_id, company_id): team_id for partner_id, company_id, team_id in self.env.cr.fetchall()}

    @api.model
    def _adopt_tier_rules(self, rules_by_company):
        """Write per-tier rules onto the service levels, creating the missing levels.

        ``rules_by_company``: ``{company_id: {tier: {field: value}}}`` with fields among
        ``contact_interval`` and ``survey_months``. Used by the upgrade that moved these
        settings from the company to the service levels; the levels' constraints check the
        values, so bad ones stop the upgrade instead of being saved."""
        Level = self.sudo().with_context(active_test=False)
        existing = Level.search([("company_id", "in", list(rules_by_company))])
        by_key = {(level.company_id.id, level.tier): level for level in existing}
        to_create = []
        for company_id, rules in rules_by_company.items():
            for tier, vals in rules.items():
                level = by_key.get((company_id, tier))
                if level:
                    changes = {name: value for name, value in vals.items() if level[name] != value}
                    if changes:
                        level.write(changes)
                else:
                    to_create.append({"company_id": company_id, "tier": tier, **vals})
        return Level.create(to_create) | existing

    # ------------------------------------------------------------------
    # Applying the levels
    # ------------------------------------------------------------------
    @api.model
    def _check_director(self):
        if not self.env.su and not self.env.user.has_group(DIRECTOR_GROUP):
            raise UserError(_("Only Key Account Directors apply service levels."))

    @api.model
    def _flush_term_sources(self):
        self.env["res.partner"].flush_model(["commercial_partner_id", *(column for _k, column, _t, _c in TERMS)])
        self.env["kam.classification"].flush_model()
        self.flush_model()
        self.env["kam.tier.history"].flush_model()

    @api.model
    def _terms_sql(self, company, source, force=False):
        """One row per term each customer of ``source`` would get, with what happens to it.

        ``source`` is a SELECT of ``partner_id`` (commercial entity), ``tier`` (NULL: not
        classified) and ``history_id`` (the tier history line to record it in, or NULL). Rows:
        ``partner_id, history_id, classification_id, term, old_id, new_id, action``. A term is
        left out when the tier's level has no value for it; ``same`` when the customer has it
        already (nothing to write, but it is what the levels gave). A
        value that differs from the one the levels last applied is the customer's own and
        is kept (``kept_own``), unless ``force`` (a director re-applying on demand); the
        customer's "keep my terms" flag keeps everything (``kept_flag``).
        """
        key = str(company.id)

        def current(column):
            if column in COMPANY_DEPENDENT:
                return SQL("(p.%s ->> %s)::int", SQL.identifier(column), key)
            return SQL("p.%s", SQL.identifier(column))

        values = SQL(", ").join(
            SQL("(%s, %s, k.%s, l.%s)", term, current(column), SQL.identifier(applied), SQL.identifier(f"{term}_id"))
            for term, column, _table, applied in TERMS
        )
        return SQL(
            """
            SELECT s.partner_id, s.history_id, k.id AS classification_id, t.term, t.old_id, t.new_id,
                   CASE WHEN t.old_id = t.new_id THEN 'same'
                        WHEN COALESCE(k.keep_terms, false) THEN 'kept_flag'
                        WHEN NOT %(force)s AND t.old_id IS DISTINCT FROM t.last_id THEN 'kept_own'
                        ELSE 'apply' END AS action
              FROM (%(source)s) s
              JOIN kam_service_level l ON l.company_id = %(company)s AND l.tier = COALESCE(s.tier, 'none')
              JOIN res_partner p ON p.id = s.partner_id
              LEFT JOIN kam_classification k ON k.company_id = %(company)s AND k.partner_id = s.partner_id
             CROSS JOIN LATERAL (VALUES %(values)s) AS t(term, old_id, last_id, new_id)
             WHERE t.new_id IS NOT NULL
            """,
            force=bool(force),
            source=source,
            company=company.id,
            values=values,
        )

    @api.model
    def _preview(self, company, source, force=False):
        """The rows of ``_terms_sql`` as dicts with the names of the old and new values; writes nothing."""
        self._flush_term_sources()
        self.env.cr.execute(
            SQL(
                """
                SELECT t.partner_id, t.term, t.action, %(old_name)s AS old_name, %(new_name)s AS new_name
                  FROM (%(terms)s) t
                 WHERE t.action <> 'same'
                 ORDER BY t.partner_id, t.term
                """,
                terms=self._terms_sql(company, source, force),
                old_name=self._name_sql("old_id"),
                new_name=self._name_sql("new_id"),
            )
        )
        return self.env.cr.dictfetchall()

    @api.model
    def _name_sql(self, column):
        """The name of the value in ``t.<column>`` of a row ``t`` of ``_terms_sql``, in the user's language."""
        lang = self.env.lang or "en_US"
        return SQL(
            "CASE t.term %s END",
            SQL(" ").join(
                SQL(
                    "WHEN %s THEN (SELECT COALESCE(x.name->>%s, x.name->>'en_US') FROM %s x WHERE x.id = t.%s)",
                    term,
                    lang,
                    SQL.identifier(table),
                    SQL.identifier(column),
                )
                for term, _column, table, _applied in TERMS
            ),
        )

    @api.model
    def _term_labels(self):
        return {
            "pricelist": _("pricelist"),
            "payment_term": _("payment terms"),
        }

    @api.model
    def _apply(self, company, source, force=False):
        """Apply the levels of ``company`` to the customers of ``source`` (see ``_terms_sql``).

        Set-based and constant in queries: one statement decides every term, then one UPDATE
        writes every term on the customers (and their contacts, as Odoo passes commercial
        terms on), one remembers what was applied, one records it in the history lines. Returns the
        number of terms applied and kept.
        """
        self._flush_term_sources()
        cr = self.env.cr
        cr.execute(SQL("DROP TABLE IF EXISTS kam_service_terms"))
        cr.execute(
            SQL(
                "CREATE TEMP TABLE kam_service_terms ON COMMIT DROP AS %s",
                self._terms_sql(company, source, force),
            )
        )
        cr.execute(SQL("ANALYZE kam_service_terms"))
        key = str(company.id)

        def value(term, column):
            if column in COMPANY_DEPENDENT:
                return SQL(
                    "COALESCE(p.%s, '{}'::jsonb) || jsonb_build_object(%s, t.%s)",
                    SQL.identifier(column),
                    key,
                    SQL.identifier(term),
                )
            return SQL("t.%s", SQL.identifier(term))

        # One UPDATE for every term: each customer row (and its contacts) is rewritten once,
        # not once per term.
        cr.execute(
            SQL(
                """
                UPDATE res_partner p
                   SET %(assignments)s
                  FROM (SELECT partner_id, %(aggregates)s
                          FROM kam_service_terms
                         WHERE action = 'apply'
                         GROUP BY partner_id) t
                 WHERE p.commercial_partner_id = t.partner_id
                """,
                assignments=SQL(", ").join(
                    SQL(
                        "%(column)s = CASE WHEN t.%(term)s IS NULL THEN p.%(column)s ELSE %(value)s END",
                        column=SQL.identifier(column),
                        term=SQL.identifier(term),
                        value=value(term, column),
                    )
                    for term, column, _table, _applied in TERMS
                ),
                aggregates=SQL(", ").join(
                    SQL("MAX(new_id) FILTER (WHERE term = %s) AS %s", term, SQL.identifier(term))
                    for term, _column, _table, _applied in TERMS
                ),
            )
        )
        # What the levels applied is what a later application compares the customer's terms with.
        cr.execute(
            SQL(
                """
                UPDATE kam_classification k
                   SET %(assignments)s
                  FROM (SELECT classification_id, %(aggregates)s
                          FROM kam_service_terms
                         WHERE action IN ('apply', 'same') AND classification_id IS NOT NULL
                         GROUP BY classification_id) t
                 WHERE k.id = t.classification_id
                """,
                assignments=SQL(", ").join(
                    SQL(
                        "%s = COALESCE(t.%s, k.%s)",
                        SQL.identifier(applied),
                        SQL.identifier(term),
                        SQL.identifier(applied),
                    )
                    for term, _column, _table, applied in TERMS
                ),
                aggregates=SQL(", ").join(
                    SQL("MAX(new_id) FILTER (WHERE term = %s) AS %s", term, SQL.identifier(term))
                    for term, _column, _table, _applied in TERMS
                ),
            )
        )
        self._record_terms(company)
        cr.execute(
            SQL(
                "SELECT count(*) FILTER (WHERE action = 'apply'), "
                "count(*) FILTER (WHERE action IN ('kept_own', 'kept_flag')) FROM kam_service_terms"
            )
        )
        applied, kept = cr.fetchone()
        self.env["res.partner"].invalidate_model(
            [column for _k, column, _t, _c in TERMS] + ["property_product_pricelist"]
        )
        self.env["kam.classification"].invalidate_model()
        self.env["kam.tier.history"].invalidate_model(["service_terms"])
        return applied, kept

    @api.model
    def _record_terms(self, company):
        """Write on each history line of ``kam_service_terms`` what happened to each term, in the
        language of the user ("pricelist: Standard → Key accounts; payment terms: kept, own terms")."""
        labels = self._term_labels()
        action_labels = {
            "kept_own": _("kept, own terms"),
            "kept_flag": _("kept, keep my terms"),
        }
        term_label = SQL("CASE t.term %s END", SQL(" ").join(SQL("WHEN %s THEN %s", k, v) for k, v in labels.items()))
        old_name, new_name = self._name_sql("old_id"), self._name_sql("new_id")
        self.env.cr.execute(
            SQL(
                """
                UPDATE kam_tier_history h
                   SET service_terms = x.text
                  FROM (SELECT t.history_id,
                               string_agg(
                                   %(term_label)s || ': ' || CASE t.action
                                       WHEN 'apply' THEN COALESCE(%(old_name)s, %(empty)s) || ' → ' || %(new_name)s
                                       WHEN 'kept_own' THEN %(kept_own)s
                                       ELSE %(kept_flag)s END,
                                   '; ' ORDER BY t.term) AS text
                          FROM kam_service_terms t
                         WHERE t.history_id IS NOT NULL AND t.action <> 'same'
                         GROUP BY t.history_id) x
                 WHERE h.id = x.history_id
                """,
                term_label=term_label,
                old_name=old_name,
                new_name=new_name,
                empty=_("none"),
                kept_own=action_labels["kept_own"],
                kept_flag=action_labels["kept_flag"],
            )
        )

    @api.model
    def _apply_run(self, company, run):
        """Apply the new tiers' levels to the customers whose tier ``run`` changed, then launch
        the activity plans of the tiers they gained and left. Nothing when the run moved nobody."""
        if not self.sudo().search_count([("company_id", "=", company.id)], limit=1):
            return
        source = SQL(
            """
            SELECT k.partner_id, h.new_tier AS tier, h.id AS history_id
              FROM kam_tier_history h
              JOIN kam_classification k ON k.id = h.classification_id
             WHERE h.run_id = %s
            """,
            run.id,
        )
        self.sudo()._apply(company, source)
        self.sudo()._launch_plans(company, run)

    @api.model
    def _launch_plans(self, company, run):
        """Launch, once per tier change of ``run``, the plan of the tier gained (promotion) and the
        plan of the tier left (demotion). Activities go to the template's user, else to the
        account's KAM, else to whoever ran the reclassification."""
        levels = self.search([("company_id", "=", company.id)])
        if not (levels.activity_plan_id or levels.demotion_plan_id):
            return
        by_tier = {level.tier: level for level in levels}
        rank = {"a": 3, "b": 2, "c": 1, "none": 0}
        self.env.cr.execute(
            SQL(
                """
                SELECT k.partner_id, k.manager_id, COALESCE(h.old_tier, 'none'), COALESCE(h.new_tier, 'none')
                  FROM kam_tier_history h
                  JOIN kam_classification k ON k.id = h.classification_id
                 WHERE h.run_id = %s
                 ORDER BY h.id
                """,
                run.id,
            )
        )
        changes = self.env.cr.fetchall()
        runner = run.user_id or self.env.user
        today = run.date or fields.Date.context_today(self)
        vals_list = []
        model_id = self.env["ir.model"]._get_id("res.partner")
        for partner_id, manager_id, old_tier, new_tier in changes:
            if rank[new_tier] > rank[old_tier]:
                plan = by_tier.get(new_tier, self).activity_plan_id
            else:
                plan = by_tier.get(old_tier, self).demotion_plan_id
            for template in plan.template_ids:
                user = template.responsible_id if template.responsible_type == "other" else False
                vals_list.append(
                    {
                        "res_model_id": model_id,
                        "res_id": partner_id,
                        "activity_type_id": template.activity_type_id.id,
                        "summary": template.summary,
                        "note": template.note,
                        "user_id": (user.id if user else manager_id) or runner.id,
                        "date_deadline": template._get_date_deadline(today),
                        "automated": True,
                    }
                )
        if vals_list:
            # The assignees follow the customer first: one subscription per user, not one per
            # activity (mail.activity would subscribe a user twice to a customer with two steps).
            by_user = defaultdict(set)
            for vals in vals_list:
                by_user[vals["user_id"]].add(vals["res_id"])
            Users = self.env["res.users"].sudo()
            for user_id, partner_ids in by_user.items():
                self.env["res.partner"].browse(sorted(partner_ids)).message_subscribe(
                    partner_ids=Users.browse(user_id).partner_id.ids
                )
            self.env["mail.activity"].sudo().with_context(mail_activity_quick_update=True).create(vals_list)
