from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..const import DIRECTOR_GROUP

# Stakeholders invited first: those who decide and those who sway the decision.
_ROLE_ORDER = {"decision_maker": 0, "influencer": 1}


class KamSurveyInviteWizard(models.TransientModel):
    """Send the company's relationship survey to chosen contacts of one account."""

    _name = "kam.survey.invite.wizard"
    _description = "Invite key account contacts to a survey"

    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    account_id = fields.Many2one("res.partner", required=True)
    survey_id = fields.Many2one(
        "survey.survey",
        required=True,
        domain="[('kam_recommendation_question_id', '!=', False)]",
    )
    contact_ids = fields.Many2many(
        "res.partner",
        string="Contacts to invite",
        domain="[('commercial_partner_id', '=', account_id)]",
        help="By default the account's stakeholders with an email, decision makers and influencers first.",
    )
    missing_email_ids = fields.Many2many(
        "res.partner",
        "kam_survey_invite_wizard_missing_rel",
        string="Without an email",
        compute="_compute_missing_email_ids",
        help="Contacts of the account who cannot be invited until they have an email.",
    )

    @api.depends("account_id", "company_id", "contact_ids")
    def _compute_missing_email_ids(self):
        for wizard in self:
            candidates = wizard._candidates() | wizard.contact_ids
            wizard.missing_email_ids = [Command.set(candidates.filtered(lambda c: not c.email).ids)]

    def _candidates(self):
        """The account's stakeholders in the company, decision makers and influencers first; an
        account without stakeholders offers its own contacts."""
        self.ensure_one()
        if not self.account_id:
            return self.env["res.partner"]
        stakeholders = (
            self.env["kam.account.plan.stakeholder"]
            .sudo()
            .search(
                [
                    ("plan_id.partner_id", "=", self.account_id.id),
                    ("plan_id.company_id", "=", self.company_id.id),
                    ("plan_id.state", "!=", "cancelled"),
                ]
            )
        )
        if stakeholders:
            ordered = stakeholders.sorted(lambda s: (_ROLE_ORDER.get(s.role, 2), -s.influence, s.id))
            return ordered.partner_id.sudo(False)
        return self.account_id.child_ids.filtered(lambda c: c.type == "contact")

    @api.model
    def action_open(self, account, company):
        """The wizard for ``account`` in ``company``, with its survey and contacts filled in."""
        wizard = self.create(
            {"account_id": account.id, "company_id": company.id, "survey_id": company.kam_survey_id.id}
        )
        wizard.contact_ids = [Command.set(wizard._candidates().filtered("email").ids)]
        return {
            "type": "ir.actions.act_window",
            "name": _("Invite to a survey"),
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_invite(self):
        self.ensure_one()
        account = self.account_id.with_company(self.company_id)
        if not self.env.user.has_group(DIRECTOR_GROUP) and account.kam_manager_id != self.env.user:
            raise AccessError(
                _(
                    "Only the Key Account Manager of %(account)s or a director can invite its contacts.",
                    account=account.display_name,
                )
            )
        # Archived contacts are listed in the refusal, not dropped from the list unseen.
        contacts = self.with_context(active_test=False).contact_ids
        if not contacts:
            raise UserError(
                _(
                    "%(account)s has no contact chosen to invite. Contacts without an email: %(names)s. "
                    "Add an email to a contact of the account, then choose it.",
                    account=account.display_name,
                    names=", ".join(self.missing_email_ids.mapped("display_name")) or _("none"),
                )
            )
        answers = self.env["survey.user_input"]._kam_invite(self.survey_id, self.company_id, contacts)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _(
                    "%(count)s contacts invited to “%(survey)s”.", count=len(answers), survey=self.survey_id.title
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
