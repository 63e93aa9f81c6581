from datetime import timedelta
from unittest.mock import patch

from dateutil.relativedelta import relativedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from ..models import survey_user_input
from .survey_common import SurveyCommon


@tagged("post_install", "-at_install")
class TestSurveyCadence(SurveyCommon):
    """The daily job invites the accounts that are due by tier, never twice inside the cadence,
    and reminds non-respondents once."""

    def _cadence(self, **months):
        """The survey cadence of each tier, on the company's service levels, as a director sets it."""
        self.env["kam.service.level"].with_user(self.director).create(
            [{"company_id": self.company.id, "tier": tier, "survey_months": value} for tier, value in months.items()]
        )

    def _mails(self, answers):
        return self.env["mail.mail"].search([("model", "=", "survey.user_input"), ("res_id", "in", answers.ids)])

    def test_due_invited_once_then_reminded_once(self):
        self._cadence(a=6, b=0)
        now = self.env.cr.now()
        due = self.env["kam.survey.due"].search([("company_id", "=", self.company.id)])
        self.assertEqual(
            set(due.contact_id.ids),
            {self.bea.id, self.otto.id, self.olaf.id},
            "the stakeholders with an email of A accounts, or their own contacts; B is never asked",
        )
        invitations, reminders = self.Answer._kam_survey_cadence(now)
        mine = invitations.filtered(lambda a: a.kam_company_id == self.company)
        self.assertEqual(set(mine.partner_id.ids), {self.bea.id, self.otto.id, self.olaf.id})
        self.assertEqual(len(self._mails(mine)), 3, "each invitation has its mail")
        self.assertIn(mine[0].access_token, self._mails(mine[0]).body_html, "a personal link")
        self.assertFalse(reminders.filtered(lambda a: a.kam_company_id == self.company))
        self.assertFalse(self.env["kam.survey.due"].search([("company_id", "=", self.company.id)]))

        again, _reminders = self.Answer._kam_survey_cadence(now + timedelta(days=1))
        self.assertFalse(again.filtered(lambda a: a.kam_company_id == self.company), "never twice inside the cadence")

        bea = mine.filtered(lambda a: a.partner_id == self.bea)
        self._answer(self.bea, 9)  # Bea answers through a second link; her first stays open
        _invited, reminded = self.Answer._kam_survey_cadence(now + timedelta(days=8))
        self.assertEqual(reminded.filtered(lambda a: a.kam_company_id == self.company), mine)
        self.assertEqual(len(self._mails(bea)), 2, "the invitation and one reminder")
        _invited, reminded = self.Answer._kam_survey_cadence(now + timedelta(days=9))
        self.assertFalse(reminded.filtered(lambda a: a.kam_company_id == self.company), "reminded once only")

        later, _reminders = self.Answer._kam_survey_cadence(now + relativedelta(months=6, days=1))
        self.assertEqual(
            set(later.filtered(lambda a: a.kam_company_id == self.company).partner_id.ids),
            {self.bea.id, self.otto.id, self.olaf.id},
            "due again once the cadence has passed",
        )

    def test_cadence_queries_do_not_grow_with_accounts(self):
        """One batch for every due account: the query count is the same for 2 and for 8 accounts.

        Run with the chatter on, as the scheduled job runs (the tests' environment turns it off):
        the chatter looked up the followers of each new invitation, a query per invitation."""
        self._cadence(a=6, b=6)
        now = self.env.cr.now()
        Answer = self.Answer.with_context(tracking_disable=False)

        def count(extra):
            self.env.cr.execute("SAVEPOINT cadence_count")
            partners = self.env["res.partner"].create(
                [{"name": f"Bulk {extra} {i}", "is_company": True} for i in range(extra)]
            )
            self.env["res.partner"].create(
                [{"name": f"Contact {p.id}", "parent_id": p.id, "email": f"c{p.id}@bulk.example"} for p in partners]
            )
            self.env["kam.classification"].create(
                [{"company_id": self.company.id, "partner_id": p.id, "tier": "b"} for p in partners]
            )
            self._warm_up(lambda: None)
            before = self.env.cr.sql_log_count
            invitations, _reminders = Answer._kam_survey_cadence(now)
            self.env.flush_all()
            queries = self.env.cr.sql_log_count - before
            invited = len(invitations)
            self.env.cr.execute("ROLLBACK TO SAVEPOINT cadence_count")
            self.env.invalidate_all()
            return queries, invited

        count(2)  # the first run fills the caches (views of mail, xml ids) that later runs do not query
        small, invited_small = count(2)
        large, invited_large = count(8)
        self.assertEqual(invited_large - invited_small, 6)
        self.assertEqual(small, large, f"{small} queries for 2 accounts, {large} for 8")

    def test_job_works_in_batches_until_nobody_is_due(self):
        """The scheduled job sends a batch per call and tells the cron how many are left, so that
        Odoo calls it again at once; the batches together invite each due contact once."""
        self._cadence(a=6, b=6)
        now = self.env.cr.now()
        due = sorted(self.env["kam.survey.due"].search([]).contact_id.ids)
        self.assertGreaterEqual(len(due), 3)
        invitations, reminders, left = self.Answer._kam_survey_cadence_batch(now, 2)
        self.assertEqual((len(invitations), len(reminders), left), (2, 0, len(due) - 2))
        invited = invitations
        while left:
            invitations, _reminders, next_left = self.Answer._kam_survey_cadence_batch(now, 2)
            self.assertEqual(next_left, max(left - 2, 0))
            invited |= invitations
            left = next_left
        self.assertEqual(sorted(invited.partner_id.ids), due, "each due contact once")
        self.assertFalse(self.env["kam.survey.due"].search([]))
        # A week later, the reminders come in batches too, until every invitation has had one.
        later = now + timedelta(days=8)
        reminded, left, calls = self.Answer, 1, 0
        while left:
            _invitations, reminders, left = self.Answer._kam_survey_cadence_batch(later, 2)
            self.assertLessEqual(len(reminders), 2)
            reminded |= reminders
            calls += 1
        self.assertGreater(calls, 1)
        self.assertLessEqual(invited, reminded)
        self.assertEqual(self.Answer._kam_survey_cadence_batch(later, 2)[1:], (self.Answer, 0), "reminded once")

    def test_scheduled_job_reports_what_is_left(self):
        """The job's progress tells Odoo's cron how many contacts are left after a batch."""
        self._cadence(a=6, b=6)
        due = len(self.env["kam.survey.due"].search([]))
        _cron, progress = self.env.ref("kam_management.ir_cron_kam_survey_cadence")._add_progress()
        with patch.object(survey_user_input, "CADENCE_BATCH", 2):
            self.Answer.with_context(ir_cron_progress_id=progress.id)._cron_kam_survey_cadence()
        self.assertEqual((progress.done, progress.remaining), (2, due - 2))


@tagged("post_install", "-at_install")
class TestSurveyInvitation(SurveyCommon):
    """Inviting from the account: the stakeholders first, refusals that say what is missing."""

    def _open(self, user=None):
        Wizard = self.env["kam.survey.invite.wizard"].with_user(user or self.kam)
        action = Wizard.action_open(self.account, self.company)
        return Wizard.browse(action["res_id"])

    def test_wizard_defaults_and_send(self):
        wizard = self._open()
        self.assertEqual(wizard.survey_id, self.survey)
        self.assertEqual(wizard.contact_ids, self.bea | self.otto, "the stakeholders with an email")
        self.assertEqual(wizard.missing_email_ids, self.nemo, "the one without an email is listed, not skipped")
        wizard.action_invite()
        answers = self.Answer.search([("kam_account_id", "=", self.account.id)])
        self.assertEqual(answers.partner_id, self.bea | self.otto)
        self.assertEqual(answers.kam_company_id, self.company)
        mails = self.env["mail.mail"].search([("model", "=", "survey.user_input"), ("res_id", "in", answers.ids)])
        self.assertEqual(len(mails), 2)

    def test_bad_input_is_refused_and_nothing_half_sent(self):
        mails_before = self.env["mail.mail"].search_count([])
        wizard = self._open()
        wizard.contact_ids = [Command.link(self.nemo.id)]
        with self.assertRaisesRegex(UserError, "Nemo Nomail"):
            wizard.action_invite()
        self.otto.active = False
        wizard.contact_ids = [Command.set((self.bea | self.otto).ids)]
        with self.assertRaisesRegex(UserError, "Otto Owner"):
            wizard.action_invite()
        wizard.contact_ids = [Command.clear()]
        with self.assertRaisesRegex(UserError, "Nemo Nomail"):
            wizard.action_invite()
        self.assertFalse(self.Answer.search([("kam_account_id", "=", self.account.id)]), "no invitation created")
        self.assertEqual(self.env["mail.mail"].search_count([]), mails_before, "no mail queued")

    def test_account_without_any_email_is_refused(self):
        """A company none of whose contacts has an email cannot be surveyed: the refusal names the
        contacts to complete, and nothing is created."""
        mute = self.env["res.partner"].create({"name": "Mute Account", "is_company": True})
        nora = self.env["res.partner"].create({"name": "Nora Noemail", "parent_id": mute.id})
        Wizard = self.env["kam.survey.invite.wizard"].with_user(self.director)
        wizard = Wizard.browse(Wizard.action_open(mute, self.company)["res_id"])
        self.assertFalse(wizard.contact_ids, "nobody can be invited")
        self.assertEqual(wizard.missing_email_ids, nora, "the contact without an email is listed")
        with self.assertRaisesRegex(UserError, r"Mute Account has no contact chosen to invite.*Nora Noemail"):
            wizard.action_invite()
        bare = self.env["res.partner"].create({"name": "Bare Account", "is_company": True})
        wizard = Wizard.browse(Wizard.action_open(bare, self.company)["res_id"])
        with self.assertRaisesRegex(UserError, r"Bare Account has no contact chosen to invite.*none"):
            wizard.action_invite()
        self.assertFalse(self.Answer.search([("kam_account_id", "in", (mute | bare).ids)]), "no invitation created")

    def test_survey_without_recommendation_question(self):
        survey = self.env["survey.survey"].create({"title": "Plain survey"})
        with self.assertRaisesRegex(ValidationError, "no recommendation question"):
            self.company.kam_survey_id = survey
        wizard = self._open()
        wizard.survey_id = survey
        with self.assertRaisesRegex(ValidationError, "no recommendation question"):
            wizard.action_invite()
        with self.assertRaisesRegex(ValidationError, "scale from 0 to 10"):
            survey.kam_recommendation_question_id = self.service.copy({"survey_id": survey.id})

    def test_copy_keeps_the_recommendation_question(self):
        copy = self.survey.copy()
        self.assertTrue(copy.kam_recommendation_question_id)
        self.assertEqual(copy.kam_recommendation_question_id.survey_id, copy)
        self.assertEqual(copy.kam_recommendation_question_id.title, self.recommend.title)

    def test_another_kam_cannot_invite(self):
        wizard = self._open(self.other_kam)
        with self.assertRaises(AccessError):
            wizard.action_invite()
