from collections import defaultdict

from markupsafe import Markup, escape

from odoo import Command, _, api, fields, models
from odoo.tools import SQL


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
        compute="_compute_unassigned_partner_ids",
        help="The customers this run made key accounts that still have no Key Account Manager.",
    )
    history_ids = fields.One2many("kam.tier.history", "run_id", string="Changes")

    @api.depends("company_id", "date")
    def _compute_name(self):
        for run in self:
            run.name = _("Reclassification of %(company)s on %(date)s", company=run.company_id.name, date=run.date)

    @api.depends("history_ids.new_tier", "history_ids.classification_id.manager_id")
    def _compute_unassigned_partner_ids(self):
        """Read from the run's history lines, so that the list shrinks as the directors
        assign managers; one query for all the runs, in the order the run ranked them."""
        self.env["kam.tier.history"].flush_model(["run_id", "new_tier", "rank", "classification_id"])
        self.env["kam.classification"].flush_model(["partner_id", "manager_id", "company_id"])
        self.env["kam.service.level"].flush_model(["company_id", "tier", "kam_required"])
        partners_by_run = {}
        if self.ids:
            self.env.cr.execute(
                SQL(
                    """
                    SELECT h.run_id, array_agg(k.partner_id ORDER BY h.rank, k.partner_id)
                      FROM kam_tier_history h
                      JOIN kam_classification k ON k.id = h.classification_id
                      JOIN (%s) r ON r.company_id = k.company_id AND r.tier = h.new_tier AND r.kam_required
                     WHERE h.run_id = ANY(%s) AND k.manager_id IS NULL
                     GROUP BY h.run_id
                    """,
                    self.env["kam.service.level"]._tier_rules_sql(self.company_id.ids),
                    self.ids,
                )
            )
            partners_by_run = dict(self.env.cr.fetchall())
        for run in self:
            run.unassigned_partner_ids = [Command.set(partners_by_run.get(run.id, []))]

    def _after_apply(self, summary):
        """Record the outcome, put unassigned key accounts before the directors, warn demoted KAMs.

        ``summary`` is what the run's statement counted (``kam.classification._apply_stage``).
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
        if summary["initial"] and summary["changed"]:
            self._post_initial_classification(summary["first_a"], summary["first_b"], summary["first_c"])
        elif summary["first_b"] or summary["first_c"]:
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

    def _post_initial_classification(self, tier_a, tier_b, tier_c):
        """One note on the company's initial run instead of one per customer: installing the
        addon on a large database must not write thousands of notes saying the same thing."""
        self.message_post(
            body=Markup("<p>%s</p>")
            % _(
                "Initial classification: %(count)s customers were classified, %(a)s as key accounts "
                "(tier A), %(b)s in tier B and %(c)s in tier C. Each has a line in the tier history; "
                "no note was posted on them. From now on, each change of tier and each new key "
                "account is noted on the customer.",
                count=tier_a + tier_b + tier_c,
                a=tier_a,
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
        """One to-do per run listing every new key account without a manager, and a note of
        whom the team would suggest for each."""
        self._post_suggested_managers(partner_ids)
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

    def _post_suggested_managers(self, partner_ids):
        """Next to the to-do, say whom the team would suggest for each new key account."""
        Classification = self.env["kam.classification"]
        suggestions = Classification._suggest_managers(self.company_id)
        if not suggestions:
            return
        rows = Classification.sudo().browse(list(suggestions)).filtered(lambda r: r.partner_id.id in partner_ids)
        if not rows:
            return
        items = Markup().join(
            Markup("<li>%s → %s</li>") % (row.partner_id.display_name, suggestions[row.id].name) for row in rows[:200]
        )
        self.message_post(
            body=Markup("<p>%s</p><ul>%s</ul><p>%s</p>")
            % (
                _("Suggested Key Account Managers, by the room each has under the maximum:"),
                items,
                _("Assign them from Key Accounts › Team › Key accounts without KAM."),
            ),
            subtype_xmlid="mail.mt_note",
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
