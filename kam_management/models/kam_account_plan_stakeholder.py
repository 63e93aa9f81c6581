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
# Messages that are an exchange with the contact, not the system's notifications; a message
# addressed to the contact counts unless it is an internal note that merely mentions them.
CONTACT_MESSAGE_TYPES = ["email", "comment", "email_outgoing"]


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
        last = self._fetch_last_contacts(self.partner_id.ids)
        for stakeholder in self:
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
    def _fetch_last_contacts(self, partner_ids):
        """Date of the last contact with each partner, as ``{partner id: date}``, in one query."""
        if not partner_ids:
            return {}
        sources = [
            SQL(
                """
                SELECT rel.res_partner_id AS partner_id, MAX(e.start)::date AS day
                  FROM calendar_event_res_partner_rel rel
                  JOIN calendar_event e ON e.id = rel.calendar_event_id
                 WHERE rel.res_partner_id = ANY(%(ids)s) AND e.active AND e.start <= %(now)s
                 GROUP BY rel.res_partner_id
                """,
                ids=partner_ids,
                now=fields.Datetime.now(),
            ),
            SQL(
                """
                SELECT m.author_id AS partner_id, MAX(m.date)::date AS day
                  FROM mail_message m
                 WHERE m.author_id = ANY(%(ids)s) AND m.message_type = ANY(%(types)s)
                 GROUP BY m.author_id
                """,
                ids=partner_ids,
                types=CONTACT_MESSAGE_TYPES,
            ),
            SQL(
                """
                SELECT rel.res_partner_id AS partner_id, MAX(m.date)::date AS day
                  FROM mail_message_res_partner_rel rel
                  JOIN mail_message m ON m.id = rel.mail_message_id
                  LEFT JOIN mail_message_subtype st ON st.id = m.subtype_id
                 WHERE rel.res_partner_id = ANY(%(ids)s) AND m.message_type = ANY(%(types)s)
                   AND NOT COALESCE(st.internal, false)
                 GROUP BY rel.res_partner_id
                """,
                ids=partner_ids,
                types=CONTACT_MESSAGE_TYPES,
            ),
        ]
        Visit = self.env.get("kam.visit")
        if Visit is not None:
            Visit.flush_model(["partner_id", "state", "date"])
            sources.append(
                SQL(
                    """
                    SELECT v.partner_id, MAX(v.date) AS day
                      FROM kam_visit v
                     WHERE v.partner_id = ANY(%(ids)s) AND v.state = 'done'
                     GROUP BY v.partner_id
                    """,
                    ids=partner_ids,
                )
            )
        self.env["calendar.event"].flush_model(["partner_ids", "start", "active"])
        self.env["mail.message"].flush_model(["author_id", "partner_ids", "message_type", "date", "subtype_id"])
        self.env.cr.execute(
            SQL(
                "SELECT partner_id, MAX(day) FROM (%s) contacts GROUP BY partner_id",
                SQL(" UNION ALL ").join(sources),
            )
        )
        return dict(self.env.cr.fetchall())
