from collections import defaultdict

from markupsafe import Markup, escape

from odoo import _, api, fields, models


class KamClassificationRun(models.Model):
    """The record of one reclassification of one company: what changed and what needs doing."""

    _name = "kam.classification.run"
    _description = "Key account reclassification run"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date desc, id desc"

    name = fields.Char(compute="_compute_name")
    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade")
    date = fields.Date(required=True, readonly=True)
    user_id = fields.Many2one("res.users", string="Run by", readonly=True)
    changed_count = fields.Integer(string="Tier changes", readonly=True)
    promoted_count = fields.Integer(string="Promoted", readonly=True)
    demoted_count = fields.Integer(string="Demoted", readonly=True)
    key_account_count = fields.Integer(string="Key accounts", readonly=True)
    tier_b_count = fields.Integer(string="Tier B", readonly=True)
    tier_c_count = fields.Integer(string="Tier C", readonly=True)
    unassigned_partner_ids = fields.Many2many(
        "res.partner",
        string="New key accounts without manager",
        readonly=True,
    )
    history_ids = fields.One2many("kam.tier.history", "run_id", string="Changes")

    @api.depends("company_id", "date")
    def _compute_name(self):
        for run in self:
            run.name = _("Reclassification of %(company)s on %(date)s", company=run.company_id.name, date=run.date)

    def _after_apply(self, summary):
        """Record the outcome, put unassigned key accounts before the directors, warn demoted KAMs.

        ``summary`` is what the run's statement counted (``kam.classification._apply_stage``);
        the new key accounts without a manager are already listed on the run.
        """
        self.ensure_one()
        self.write(
            {
                "changed_count": summary["changed"],
                "promoted_count": summary["promoted"],
                "demoted_count": summary["demoted"],
                "key_account_count": summary["tier_a"],
                "tier_b_count": summary["tier_b"],
                "tier_c_count": summary["tier_c"],
            }
        )
        if summary["first_b"] or summary["first_c"]:
            self._post_first_classifications(summary["first_b"], summary["first_c"])
        if summary["unassigned"]:
            self._ask_directors_to_assign(summary["unassigned"])
        demoted_by_manager = defaultdict(list)
        for account in summary["demoted_accounts"]:
            demoted_by_manager[account["manager_id"]].append(account)
        if demoted_by_manager:
            self._notify_demoted_managers(demoted_by_manager)

    def _post_first_classifications(self, tier_b, tier_c):
        """One note on the run for the customers classified B or C for the first time: each has
        a history line, but no note of its own."""
        self.message_post(
            body=Markup("<p>%s</p>")
            % _(
                "%(count)s customers were classified for the first time: %(b)s in tier B and %(c)s in "
                "tier C. Each has a line in the tier history; no note was posted on them.",
                count=tier_b + tier_c,
                b=tier_b,
                c=tier_c,
            ),
            subtype_xmlid="mail.mt_note",
        )

    def _directors(self):
        group = self.env.ref("kam_management.group_kam_director")
        return group.users.filtered(
            lambda u: (
                not u.share
                and u.active
                and self.company_id in u.company_ids
                and u.id != self.env.ref("base.user_root").id
            )
        )

    def _ask_directors_to_assign(self, partner_ids):
        """One to-do per run listing every new key account without a manager."""
        directors = self._directors()
        if not directors:
            return
        partners = self.env["res.partner"].browse(partner_ids)
        listing = Markup("<ul>%s</ul>") % Markup().join(
            Markup("<li>%s</li>") % escape(name) for name in partners[:200].mapped("display_name")
        )
        if len(partners) > 200:
            listing += Markup("<p>%s</p>") % _("… and %(count)s more.", count=len(partners) - 200)
        responsible = self.env.user if self.env.user in directors else directors.sorted("id")[0]
        self.message_subscribe(partner_ids=directors.partner_id.ids)
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=_("Assign a Key Account Manager to %(count)s new key accounts", count=len(partners)),
            note=listing,
            user_id=responsible.id,
        )

    def _notify_demoted_managers(self, demoted_by_manager):
        """One message per manager listing their key accounts that lost the tier."""
        users = self.env["res.users"].browse(list(demoted_by_manager)).exists()
        labels = dict(self.env["kam.classification"]._fields["tier"]._description_selection(self.env))
        for user in users:
            rows = demoted_by_manager[user.id]
            partners = self.env["res.partner"].browse([r["partner_id"] for r in rows])
            names = {partner.id: partner.display_name for partner in partners}
            items = Markup().join(
                Markup("<li>%s: %s</li>") % (names[r["partner_id"]], labels.get(r["new_tier"]) or _("not classified"))
                for r in rows
            )
            self.message_notify(
                partner_ids=user.partner_id.ids,
                subject=_("Key accounts demoted"),
                body=Markup("<p>%s</p><ul>%s</ul>")
                % (_("These accounts you manage are no longer key accounts:"), items),
            )
