import random
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

# Net Promoter Score: promoters answer 9–10, detractors 0–6; the rest (7–8) are passives.
PROMOTER_FROM = 9
DETRACTOR_UP_TO = 6
NPS_CATEGORIES = [("promoter", "Promoter"), ("passive", "Passive"), ("detractor", "Detractor")]
LOOP_STATES = [("open", "Open"), ("closed", "Closed")]
# Trailing window of the survey figures, in months, ending on the day they are read.
WINDOW_MONTHS = 12
# "Latest" NPS: the answers of the last round, this many days up to the last answer.
LATEST_ROUND_DAYS = 90
# Invitations (and reminders) the daily cadence job sends per batch, one transaction each.
CADENCE_BATCH = 500
# Working days the KAM has to call back a detractor, and to follow up a passive.
DETRACTOR_CALLBACK_DAYS = 2
PASSIVE_FOLLOWUP_DAYS = 10
# Fields the mails of invitations and reminders are rendered from.
_MAIL_FIELDS = ("subject", "body_html", "email_from", "email_to", "partner_to", "reply_to", "auto_delete")


def nps_category(score):
    """Category of a 0–10 recommendation score, or False when there is none."""
    if score is None or score is False:
        return False
    if score >= PROMOTER_FROM:
        return "promoter"
    if score <= DETRACTOR_UP_TO:
        return "detractor"
    return "passive"


def add_working_days(day, days):
    """``day`` moved forward by ``days`` working days (Monday to Friday)."""
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


class SurveyUserInput(models.Model):
    """A key-account contact's answer to a relationship survey, and the follow-up it calls for.

    Answers stay Odoo's: the addon adds the company and account they count for, the
    recommendation score read when the answer is submitted, and the loop the account's Key
    Account Manager closes for a detractor or a passive.
    """

    _inherit = "survey.user_input"

    kam_company_id = fields.Many2one(
        "res.company",
        string="Key account company",
        index="btree_not_null",
        readonly=True,
        help="The company whose key-account figures this answer counts for.",
    )
    kam_account_id = fields.Many2one(
        "res.partner",
        string="Key account",
        compute="_compute_kam_account_id",
        store=True,
        index="btree_not_null",
        help="The commercial entity of the contact who answers.",
    )
    # Who reads answers is decided by the access rules of the answers themselves (survey
    # officers, and the key-account groups for their accounts), so these fields have no groups.
    kam_recommendation_score = fields.Integer(string="Recommendation (0–10)", readonly=True, aggregator="avg")
    kam_nps_category = fields.Selection(NPS_CATEGORIES, string="NPS category", readonly=True)
    kam_reminded_on = fields.Datetime(string="Reminded on", readonly=True, copy=False)
    kam_loop_state = fields.Selection(LOOP_STATES, string="Follow-up", readonly=True, copy=False, index=True)
    kam_loop_user_id = fields.Many2one(
        "res.users", string="Followed up by", readonly=True, copy=False, help="The account's KAM when the answer came."
    )
    # Indexed: every deleted or done activity looks up the answers that point to it (the
    # foreign key's "set null"); unindexed, that is a scan of all the answers per activity.
    kam_activity_id = fields.Many2one(
        "mail.activity", string="Follow-up to-do", readonly=True, ondelete="set null", index="btree_not_null"
    )
    kam_loop_note = fields.Text(string="What was done", copy=False)
    kam_loop_closed_on = fields.Datetime(string="Closed on", readonly=True, copy=False)
    kam_loop_days = fields.Float(
        string="Days to close",
        compute="_compute_kam_loop_days",
        store=True,
        aggregator="avg",
        help="Days from the answer to the closing of its follow-up.",
    )

    @api.depends("partner_id.commercial_partner_id")
    def _compute_kam_account_id(self):
        for answer in self:
            answer.kam_account_id = answer.partner_id.commercial_partner_id

    @api.depends("kam_loop_closed_on", "end_datetime")
    def _compute_kam_loop_days(self):
        for answer in self:
            if answer.kam_loop_closed_on and answer.end_datetime:
                delta = answer.kam_loop_closed_on - answer.end_datetime
                answer.kam_loop_days = round(max(delta.total_seconds(), 0.0) / 86400.0, 2)
            else:
                answer.kam_loop_days = 0.0

    # ------------------------------------------------------------------
    # Answer submitted: score, and the loop
    # ------------------------------------------------------------------
    def _mark_done(self):
        result = super()._mark_done()
        self.sudo()._kam_score_and_follow_up()
        return result

    def _kam_score_and_follow_up(self):
        """Read the recommendation score of the key-account answers; open a loop for the
        detractors (a call back within two working days) and the passives (a lighter follow-up)."""
        answers = self.filtered(lambda a: a.kam_company_id and a.survey_id.kam_recommendation_question_id)
        for answer in answers:
            question = answer.survey_id.kam_recommendation_question_id
            line = answer.user_input_line_ids.filtered(
                lambda line, question=question: (
                    line.question_id == question and not line.skipped and line.answer_type == "scale"
                )
            )[:1]
            score = line.value_scale if line else None
            answer.write(
                {
                    "kam_recommendation_score": score or 0,
                    "kam_nps_category": nps_category(score),
                }
            )
        answers.filtered(lambda a: a.kam_nps_category in ("detractor", "passive"))._kam_open_loops()

    def _kam_open_loops(self):
        Classification = self.env["kam.classification"].sudo()
        rows = Classification.search(
            [("company_id", "in", self.kam_company_id.ids), ("partner_id", "in", self.kam_account_id.ids)]
        )
        managers = {(row.company_id.id, row.partner_id.id): row.manager_id for row in rows}
        detractor_type = self.env.ref("kam_management.mail_activity_type_kam_survey_callback")
        passive_type = self.env.ref("mail.mail_activity_data_todo")
        today = fields.Date.context_today(self)
        partner_model = self.env["ir.model"]._get_id("res.partner")
        activity_vals = []
        answers = self.env["survey.user_input"]
        for answer in self:
            manager = managers.get((answer.kam_company_id.id, answer.kam_account_id.id))
            if not manager:
                # Nobody to call back: the loop is open for the directors to see and assign.
                answer.write({"kam_loop_state": "open"})
                continue
            detractor = answer.kam_nps_category == "detractor"
            contact = answer.partner_id.name or answer.email or ""
            if detractor:
                summary = _("Call back %(contact)s about their answer", contact=contact)
            else:
                summary = _("Follow up with %(contact)s on their answer", contact=contact)
            link = Markup('<a href="/odoo/action-kam_management.action_kam_survey_answers/%s">%s</a>') % (
                answer.id,
                _("%(score)s/10 to “%(survey)s”", score=answer.kam_recommendation_score, survey=answer.survey_id.title),
            )
            activity_vals.append(
                {
                    "res_model_id": partner_model,
                    "res_id": answer.kam_account_id.id,
                    "activity_type_id": (detractor_type if detractor else passive_type).id,
                    "summary": summary,
                    "note": Markup("<p>%s</p>") % link,
                    "user_id": manager.id,
                    "date_deadline": add_working_days(
                        today, DETRACTOR_CALLBACK_DAYS if detractor else PASSIVE_FOLLOWUP_DAYS
                    ),
                }
            )
            answers |= answer
        activities = self.env["mail.activity"].sudo().create(activity_vals)
        for answer, activity in zip(answers, activities, strict=True):
            answer.write(
                {"kam_loop_state": "open", "kam_activity_id": activity.id, "kam_loop_user_id": activity.user_id.id}
            )

    def action_kam_close_loop(self):
        """The KAM records what was done: the loop is closed and its to-do marked done."""
        for answer in self:
            if answer.kam_loop_state != "open":
                raise UserError(_("The follow-up of this answer is not open: there is nothing to close."))
            if not (answer.kam_loop_note or "").strip():
                raise UserError(
                    _(
                        "Write what was done with %(contact)s in “What was done” before closing the follow-up.",
                        contact=answer.partner_id.name or answer.email,
                    )
                )
        self._kam_close_loops()
        return True

    def _kam_close_loops(self, feedback=None):
        answers = self.sudo()
        activities = answers.kam_activity_id
        now = fields.Datetime.now()
        for answer in answers:
            vals = {"kam_loop_state": "closed", "kam_loop_closed_on": now}
            if feedback and not answer.kam_loop_note:
                vals["kam_loop_note"] = feedback
            answer.write(vals)
        if activities and not self.env.context.get("kam_loop_from_activity"):
            activities.with_context(kam_loop_from_activity=True).action_feedback(
                feedback=answers[:1].kam_loop_note if len(answers) == 1 else False
            )

    # ------------------------------------------------------------------
    # The one definition of the survey figures
    # ------------------------------------------------------------------
    @api.model
    def _kam_survey_figures_sql(self, company, date, partner_ids=None):
        """Survey figures of each commercial entity of ``company`` on ``date``.

        Returns an ``odoo.tools.SQL`` SELECT, one row per commercial entity with any invitation
        up to ``date``; the window is the ``WINDOW_MONTHS`` months ending on ``date``:

        - ``nps``: promoters (9–10) minus detractors (0–6), in % of the answers in the window
          (NULL without answers): the Net Promoter Score;
        - ``nps_latest``: the same over the last round (``LATEST_ROUND_DAYS`` up to the last answer);
        - ``satisfaction``: the mean of the other scale answers in the window, brought to 0–10;
        - ``answer_count``: answers with a recommendation score in the window;
        - ``invited_count`` and ``response_rate``: invitations sent in the window and the % of
          them answered by ``date``;
        - ``last_answer_date``: the date of the last answer up to ``date``;
        - ``open_detractor_count``: detractors of the window whose follow-up is still open.

        Every screen reads these figures through this statement. Callers flush first
        (``_kam_flush_survey_sources``).
        """
        window_from = date - relativedelta(months=WINDOW_MONTHS) + timedelta(days=1)
        partners = SQL("")
        if partner_ids is not None:
            partners = SQL("AND ui.kam_account_id = ANY(%s)", list(partner_ids))
        return SQL(
            """
            WITH answers AS MATERIALIZED (
                -- A score of 0 is stored as NULL: the category says the question was answered.
                SELECT ui.id, ui.kam_account_id AS partner_id, ui.survey_id,
                       ui.create_date::date AS invited_on,
                       CASE WHEN ui.state = 'done' AND ui.end_datetime < %(next_day)s
                            THEN ui.end_datetime::date END AS answered_on,
                       CASE WHEN ui.kam_nps_category IS NOT NULL
                            THEN COALESCE(ui.kam_recommendation_score, 0) END AS score,
                       ui.kam_loop_state AS loop_state
                  FROM survey_user_input ui
                 WHERE ui.kam_company_id = %(company)s AND ui.kam_account_id IS NOT NULL
                   AND NOT COALESCE(ui.test_entry, false) AND ui.create_date < %(next_day)s %(partners)s
            ),
            scored AS (
                SELECT a.*, a.answered_on >= %(window_from)s AND a.score IS NOT NULL AS in_window
                  FROM answers a
            ),
            last AS (
                SELECT partner_id, MAX(answered_on) AS last_answer_date
                  FROM scored WHERE answered_on IS NOT NULL AND score IS NOT NULL GROUP BY partner_id
            ),
            satisfaction AS (
                SELECT s.id, AVG((l.value_scale - q.scale_min)::float8 * 10.0 / (q.scale_max - q.scale_min)) AS score
                  FROM scored s
                  JOIN survey_user_input_line l ON l.user_input_id = s.id
                  JOIN survey_question q ON q.id = l.question_id
                  JOIN survey_survey sv ON sv.id = s.survey_id
                 WHERE s.in_window AND l.answer_type = 'scale' AND NOT COALESCE(l.skipped, false)
                   AND q.scale_max > q.scale_min AND q.id IS DISTINCT FROM sv.kam_recommendation_question_id
                 GROUP BY s.id
            )
            SELECT s.partner_id,
                   (100.0 * (COUNT(*) FILTER (WHERE s.in_window AND s.score >= %(promoter)s)
                             - COUNT(*) FILTER (WHERE s.in_window AND s.score <= %(detractor)s))
                    / NULLIF(COUNT(*) FILTER (WHERE s.in_window), 0))::float8 AS nps,
                   (100.0 * (COUNT(*) FILTER (WHERE s.answered_on >= l.last_answer_date - %(round)s
                                              AND s.score >= %(promoter)s)
                             - COUNT(*) FILTER (WHERE s.answered_on >= l.last_answer_date - %(round)s
                                                AND s.score <= %(detractor)s))
                    / NULLIF(COUNT(*) FILTER (WHERE s.answered_on >= l.last_answer_date - %(round)s
                                              AND s.score IS NOT NULL), 0))::float8 AS nps_latest,
                   AVG(sat.score)::float8 AS satisfaction,
                   COUNT(*) FILTER (WHERE s.in_window)::int AS answer_count,
                   COUNT(*) FILTER (WHERE s.invited_on >= %(window_from)s)::int AS invited_count,
                   (100.0 * COUNT(*) FILTER (WHERE s.invited_on >= %(window_from)s AND s.answered_on IS NOT NULL)
                    / NULLIF(COUNT(*) FILTER (WHERE s.invited_on >= %(window_from)s), 0))::float8 AS response_rate,
                   l.last_answer_date,
                   COUNT(*) FILTER (WHERE s.in_window AND s.score <= %(detractor)s AND s.loop_state = 'open')::int
                       AS open_detractor_count
              FROM scored s
              LEFT JOIN last l ON l.partner_id = s.partner_id
              LEFT JOIN satisfaction sat ON sat.id = s.id
             GROUP BY s.partner_id, l.last_answer_date
            """,
            company=company.id,
            next_day=date + timedelta(days=1),
            window_from=window_from,
            partners=partners,
            promoter=PROMOTER_FROM,
            detractor=DETRACTOR_UP_TO,
            round=LATEST_ROUND_DAYS - 1,
        )

    @api.model
    def _kam_flush_survey_sources(self):
        self.env["survey.user_input"].flush_model(
            [
                "kam_company_id",
                "kam_account_id",
                "survey_id",
                "state",
                "end_datetime",
                "kam_recommendation_score",
                "kam_nps_category",
                "kam_loop_state",
                "test_entry",
            ]
        )
        self.env["survey.user_input.line"].flush_model(
            ["user_input_id", "question_id", "answer_type", "skipped", "value_scale"]
        )
        self.env["survey.question"].flush_model(["scale_min", "scale_max"])
        self.env["survey.survey"].flush_model(["kam_recommendation_question_id"])

    @api.model
    def _kam_survey_figures(self, company, date, partner_ids=None):
        """``{commercial entity id: row}`` of ``_kam_survey_figures_sql``."""
        self._kam_flush_survey_sources()
        self.env.cr.execute(self._kam_survey_figures_sql(company, date, partner_ids))
        return {row["partner_id"]: row for row in self.env.cr.dictfetchall()}

    # ------------------------------------------------------------------
    # Invitations, cadence and reminders
    # ------------------------------------------------------------------
    @api.model
    def _kam_invite(self, survey, company, contacts):
        """Invite ``contacts`` to ``survey`` for ``company``: answers and their mails together.

        Refuses, naming what is missing, a survey without a recommendation question, archived
        contacts and contacts without an email; nothing is created when anything is refused.
        """
        survey._kam_check_usable()
        archived = contacts.filtered(lambda c: not c.active)
        if archived:
            raise UserError(
                _(
                    "These contacts are archived and cannot be invited: %(names)s. Restore them or "
                    "remove them from the list.",
                    names=", ".join(archived.mapped("display_name")),
                )
            )
        without_email = contacts.filtered(lambda c: not c.email)
        if without_email:
            raise UserError(
                _(
                    "These contacts have no email: %(names)s. Add their email or remove them from the list.",
                    names=", ".join(without_email.mapped("display_name")),
                )
            )
        if not contacts:
            raise UserError(_("Choose at least one contact with an email to invite."))
        return self._kam_create_invitations([(survey.id, company.id, contact) for contact in contacts])

    @api.model
    def _kam_create_invitations(self, triples):
        """Create one answer per ``(survey id, company id, contact)`` and queue its mail, in batch."""
        contacts = self.env["res.partner"].browse([contact.id for _survey, _company, contact in triples])
        # One read of every contact, not one per thousand (the prefetch's page).
        contacts.fetch(["name", "email", "lang", "commercial_partner_id"])
        answers = (
            self.env["survey.user_input"]
            .sudo()
            # Without the chatter's bookkeeping: subscribing followers looks them up once per new
            # record (a query per invitation), and a "created" note on each invitation says nothing.
            .with_context(tracking_disable=True)
            .create(
                [
                    {
                        "survey_id": survey_id,
                        "partner_id": contact.id,
                        "email": contact.email,
                        "nickname": contact.name,
                        "kam_company_id": company_id,
                        # Known already: given, the stored computes are not written a second time.
                        "kam_account_id": contact.commercial_partner_id.id,
                        "kam_loop_days": 0.0,
                    }
                    for survey_id, company_id, contact in triples
                ]
            )
            .with_context(tracking_disable=False)
        )
        answers._kam_send_mails("kam_management.mail_template_kam_survey_invite")
        return answers

    def _kam_send_mails(self, template_xmlid):
        """Queue the mail of ``template_xmlid`` to each answer, rendered in one batch."""
        if not self:
            return self.env["mail.mail"]
        template = self.env.ref(template_xmlid).sudo()
        values = template._generate_template(self.ids, _MAIL_FIELDS)
        mails = []
        for answer_id in self.ids:
            vals = values[answer_id]
            mails.append(
                {
                    "subject": vals.get("subject"),
                    "body_html": vals.get("body_html"),
                    "email_from": vals.get("email_from") or self.env.company.email_formatted,
                    "email_to": vals.get("email_to"),
                    "recipient_ids": [(4, pid) for pid in vals.get("partner_ids") or []],
                    "reply_to": vals.get("reply_to"),
                    "auto_delete": vals.get("auto_delete", True),
                    "model": self._name,
                    "res_id": answer_id,
                }
            )
        return self.env["mail.mail"].sudo().create(mails)

    @api.model
    def _cron_kam_survey_cadence(self):
        """The daily job, in batches of ``CADENCE_BATCH`` invitations and reminders: each batch is
        one transaction of the same statements whatever the number of accounts, and the job runs
        again at once while contacts are left (Odoo's cron progress)."""
        invitations, reminders, left = self._kam_survey_cadence_batch(fields.Datetime.now(), CADENCE_BATCH)
        self.env["ir.cron"]._notify_progress(done=len(invitations) + len(reminders), remaining=left)

    @api.model
    def _kam_survey_cadence(self, now):
        """Invite every contact that is due (one statement for every company and account), and
        remind once the contacts who have not answered after the company's reminder delay.

        Returns ``(invitations, reminders)``.
        """
        invitations, reminders, _left = self._kam_survey_cadence_batch(now)
        return invitations, reminders

    @api.model
    def _kam_survey_cadence_batch(self, now, limit=None):
        """``_kam_survey_cadence`` for at most ``limit`` invitations and ``limit`` reminders (all
        when ``limit`` is None): the contacts left stay due, the next batch takes them.

        Returns ``(invitations, reminders, number of invitations and reminders left)``.
        """
        Due = self.env["kam.survey.due"]
        Due._kam_flush_due_sources()
        self.env.cr.execute(Due._kam_due_sql(now.date(), limit=limit))
        rows = self.env.cr.fetchall()
        due = rows[0][3] if limit is not None and rows else len(rows)
        contacts = self.env["res.partner"].browse([row[2] for row in rows])
        invitations = self._kam_create_invitations(
            [(row[1], row[0], contact) for row, contact in zip(rows, contacts, strict=True)]
        )
        reminders, waiting = self._kam_remind(now, limit)
        return invitations, reminders, due - len(invitations) + waiting - len(reminders)

    @api.model
    def _kam_remind(self, now, limit=None):
        """Remind once, after the company's delay, the invited contacts who have not answered (the
        first ``limit`` of them). Returns ``(reminders, number of contacts to remind in all)``."""
        self.flush_model(["kam_company_id", "state", "kam_reminded_on", "create_date", "test_entry"])
        self.env.cr.execute(
            SQL(
                """
                SELECT ui.id, COUNT(*) OVER ()
                  FROM survey_user_input ui
                  JOIN res_company c ON c.id = ui.kam_company_id
                 WHERE ui.state != 'done' AND ui.kam_reminded_on IS NULL AND NOT COALESCE(ui.test_entry, false)
                   AND c.kam_survey_reminder_days > 0
                   AND ui.create_date <= %(now)s - make_interval(days => c.kam_survey_reminder_days)
                   AND (ui.deadline IS NULL OR ui.deadline > %(now)s)
                 ORDER BY ui.id
                 %(limit)s
                """,
                now=now,
                limit=SQL("LIMIT %s", limit) if limit is not None else SQL(),
            )
        )
        rows = self.env.cr.fetchall()
        answers = self.sudo().browse([row[0] for row in rows])
        if answers:
            answers._kam_send_mails("kam_management.mail_template_kam_survey_reminder")
            answers.write({"kam_reminded_on": now})
        return answers, rows[0][1] if rows else 0

    # ------------------------------------------------------------------
    # Demo data
    # ------------------------------------------------------------------
    @api.model
    def _kam_demo_answers(self, company):
        """Two years of answers of the key accounts' contacts, a round every six months: some
        accounts improving, some declining, some steady; the declining account's last detractor
        waits for its call back, every earlier follow-up is closed."""
        rng = random.Random(14)
        survey = company.kam_survey_id
        recommend = survey.kam_recommendation_question_id
        others = survey.question_ids.filtered(lambda q: q.question_type == "scale") - recommend
        comment = survey.question_ids.filtered(lambda q: q.question_type == "text_box")[:1]
        rows = self.env["kam.classification"].search(
            [("company_id", "=", company.id), ("tier", "in", ("a", "b"))], order="rank"
        )
        profiles = ([4, 6, 8, 9], [10, 9, 8, 5], [9, 10, 9, 10], [7, 8, 7, 8])
        comments = {
            "detractor": "Deliveries were late twice this quarter and nobody called us.",
            "passive": "Good products; answers from the office could be quicker.",
            "promoter": "Reliable partner, our account manager knows our business.",
        }
        now = fields.Datetime.now()
        created = self.env["survey.user_input"]
        dates = {}
        for index, row in enumerate(rows):
            contacts = row.partner_id.child_ids.filtered(lambda c: c.email and c.type == "contact")
            if not contacts:
                continue
            profile = profiles[index % len(profiles)]
            for round_index, base in enumerate(profile):
                answered = now - relativedelta(months=6 * (len(profile) - 1 - round_index)) - timedelta(days=5)
                for contact_index, contact in enumerate(contacts):
                    if round_index == len(profile) - 1 and contact_index > 0 and index % 2:
                        # One contact of every other account has not answered the last round yet.
                        answer = self.create(
                            {
                                "survey_id": survey.id,
                                "partner_id": contact.id,
                                "email": contact.email,
                                "kam_company_id": company.id,
                            }
                        )
                        dates[answer.id] = (answered, None)
                        continue
                    score = min(10, max(0, base + (rng.choice((-1, 0, 0, 1)) if contact_index else 0)))
                    category = nps_category(score)
                    lines = [(0, 0, {"question_id": recommend.id, "answer_type": "scale", "value_scale": score})]
                    lines += [
                        (
                            0,
                            0,
                            {
                                "question_id": q.id,
                                "answer_type": "scale",
                                "value_scale": min(
                                    q.scale_max, max(q.scale_min, round(score / 2) + rng.choice((-1, 0, 0)))
                                ),
                            },
                        )
                        for q in others
                    ]
                    if comment:
                        lines.append(
                            (
                                0,
                                0,
                                {
                                    "question_id": comment.id,
                                    "answer_type": "text_box",
                                    "value_text_box": comments[category],
                                },
                            )
                        )
                    answer = self.create(
                        {
                            "survey_id": survey.id,
                            "partner_id": contact.id,
                            "email": contact.email,
                            "kam_company_id": company.id,
                            "state": "done",
                            "end_datetime": answered,
                            "kam_recommendation_score": score,
                            "kam_nps_category": category,
                            "user_input_line_ids": lines,
                        }
                    )
                    dates[answer.id] = (answered - timedelta(days=3), answered)
                    created |= answer
        # Follow-ups: the last detractor of the declining account is open, every other one closed.
        followed = created.filtered(lambda a: a.kam_nps_category in ("detractor", "passive"))
        managed = {row.partner_id.id for row in rows if row.manager_id and row.tier == "a"}
        latest_detractor = followed.filtered(
            lambda a: a.kam_nps_category == "detractor" and a.kam_account_id.id in managed
        ).sorted("end_datetime")[-1:]
        for answer in followed - latest_detractor:
            manager = answer.kam_account_id.with_company(company).kam_manager_id
            answer.write(
                {
                    "kam_loop_state": "closed",
                    "kam_loop_user_id": manager.id,
                    "kam_loop_note": "Called the contact, agreed on a delivery review with logistics.",
                    "kam_loop_closed_on": answer.end_datetime + timedelta(days=rng.choice((1, 2, 3, 6))),
                }
            )
        latest_detractor._kam_open_loops()
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "UPDATE survey_user_input ui SET create_date = d.created FROM unnest(%s::int[], %s::timestamp[]) "
                "AS d(id, created) WHERE ui.id = d.id",
                list(dates),
                [created_on for created_on, _answered in dates.values()],
            )
        )
        self.invalidate_model(["create_date"])
