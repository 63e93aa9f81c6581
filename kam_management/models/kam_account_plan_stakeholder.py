from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

ROLES = [
    ("decision_maker", "Decision maker"),
    ("influencer", "Influencer"),
    ("champion", "Champion"),
    ("user", "User"),
    ("gatekeeper", "Gatekeeper"),
    ("blocker", "Blocker"),
]
ATTITUDES = [("supporter", "Supporter"), ("neutral", "Neutral"), ("detractor", "Detractor")]


class KamAccountPlanStakeholder(models.Model):
    """A contact of the account and their part in its buying decisions."""

    _name = "kam.account.plan.stakeholder"
    _description = "Account plan stakeholder"
    _order = "plan_id, influence desc, id"

    plan_id = fields.Many2one("kam.account.plan", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="plan_id.company_id", store=True, index=True)
    account_id = fields.Many2one(related="plan_id.partner_id", string="Account")
    partner_id = fields.Many2one(
        "res.partner",
        string="Contact",
        required=True,
        index=True,
        domain="[('commercial_partner_id', '=', account_id), ('id', '!=', account_id)]",
    )
    function = fields.Char(related="partner_id.function", string="Job position")
    email = fields.Char(related="partner_id.email")
    phone = fields.Char(related="partner_id.phone")
    role = fields.Selection(ROLES, string="Role in buying", required=True, default="influencer")
    influence = fields.Integer(
        default=3, help="Weight of the contact in the account's decisions, from 1 (low) to 5 (high)."
    )
    attitude = fields.Selection(ATTITUDES, required=True, default="neutral", help="The contact's attitude towards us.")
    owner_id = fields.Many2one(
        "res.users",
        string="Relationship owner",
        domain="[('share', '=', False)]",
        help="Who in the company keeps the relationship with this contact.",
    )
    last_contact_date = fields.Date(
        string="Last contact",
        compute="_compute_last_contact_date",
        help="The latest of the contact's done visits, past meetings they attended, and messages "
        "they wrote or received.",
    )
    notes = fields.Text()

    _sql_constraints = [
        ("plan_partner_uniq", "unique(plan_id, partner_id)", "A contact appears once in a plan's stakeholder map."),
    ]

    @api.depends("partner_id")
    def _compute_last_contact_date(self):
        self.last_contact_date = False
        for company, stakeholders in self.grouped(lambda s: s.plan_id.company_id).items():
            last = self._fetch_last_contacts(stakeholders.partner_id.ids, company or None)
            for stakeholder in stakeholders:
                stakeholder.last_contact_date = last.get(stakeholder.partner_id.id, False)

    @api.constrains("influence")
    def _check_influence(self):
        for stakeholder in self:
            if not 1 <= stakeholder.influence <= 5:
                raise ValidationError(
                    _(
                        "The influence of %(contact)s must be from 1 (low) to 5 (high), not %(value)s.",
                        contact=stakeholder.partner_id.display_name,
                        value=stakeholder.influence,
                    )
                )

    @api.model
    def _fetch_last_contacts(self, partner_ids, company=None):
        """Date of the last contact with each partner up to today, as ``{partner id: date}``:
        ``kam.figures._contacts_sql``, the one definition of a contact, in one query."""
        if not partner_ids:
            return {}
        Figures = self.env["kam.figures"]
        Figures._flush_contacts()
        self.env.cr.execute(
            SQL(
                "SELECT partner_id, MAX(day) FROM (%s) contacts GROUP BY partner_id",
                Figures._contacts_sql(
                    (company or self.env.company).id,
                    fields.Date.context_today(self),
                    SQL("SELECT unnest(%s::int[])", list(partner_ids)),
                ),
            )
        )
        return dict(self.env.cr.fetchall())
