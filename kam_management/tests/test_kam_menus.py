import re

from lxml import etree

from odoo.tests import TransactionCase, tagged

from odoo.addons.mail.tests.common import mail_new_test_user

from ..const import DIRECTOR_GROUP, KAM_GROUP

TOP_ENTRIES = ["Dashboard", "Key Accounts", "Account Plans", "Visits", "Reporting", "Team", "Configuration"]
# Entries only a director gets, by section.
DIRECTOR_ENTRIES = {
    "kam_management.menu_kam_team": {"kam_management.menu_kam_unassigned", "kam_management.menu_kam_reassign"},
    "kam_management.menu_kam_config": {
        "kam_management.menu_kam_settings",
        "kam_management.menu_kam_settings_log",
        "kam_management.menu_kam_competencies",
    },
}
# Operations are buttons on the screens they belong to, never menu entries.
OPERATION_ACTIONS = [
    "kam_management.kam_reclassify_server_action",
    "kam_management.kam_cost_refresh_server_action",
    "kam_management.kam_kpi_snapshot_server_action_take",
]
OPERATION_NAME = re.compile(r"^\s*(run|refresh|take|rebuild|recompute)\b", re.IGNORECASE)
# (model, list view, header button) of each operation.
OPERATION_BUTTONS = [
    ("kam.classification", "kam_management.kam_classification_view_list", "Run reclassification"),
    ("kam.classification.run", "kam_management.kam_classification_run_view_list", "Run reclassification"),
    ("kam.classification", "kam_management.kam_classification_view_list_contribution", "Refresh cost figures"),
    ("kam.kpi.snapshot", "kam_management.kam_kpi_snapshot_view_list", "Take today's snapshot"),
]


@tagged("post_install", "-at_install")
class TestKamMenus(TransactionCase):
    """The Key Accounts app as a KAM and a director see it: its menus and its list buttons."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Users as in the demo data: internal users with one key-account group, no other right.
        cls.kam = mail_new_test_user(cls.env, login="menu_kam", name="Laura KAM", groups=f"base.group_user,{KAM_GROUP}")
        cls.director = mail_new_test_user(
            cls.env, login="menu_director", name="Elena Director", groups=f"base.group_user,{DIRECTOR_GROUP}"
        )

    def _menus(self, user):
        """``{xml id: menu}`` of the Key Accounts app for ``user``, each with its children's xml ids."""
        menus = self.env["ir.ui.menu"].with_user(user).load_menus(False)
        by_id = {menu["id"]: menu for key, menu in menus.items() if key != "root"}
        root = next(menu for menu in by_id.values() if menu["xmlid"] == "kam_management.menu_kam_root")
        app = {}
        todo = [root]
        while todo:
            menu = todo.pop()
            app[menu["xmlid"]] = dict(menu, children_xmlids=[by_id[child]["xmlid"] for child in menu["children"]])
            todo.extend(by_id[child] for child in menu["children"])
        return app

    def _top_entries(self, app):
        return [app[xmlid]["name"] for xmlid in app["kam_management.menu_kam_root"]["children_xmlids"]]

    def test_top_entries(self):
        """KAMs and directors find the same top entries, in the same order."""
        for user in (self.kam, self.director):
            with self.subTest(user=user.login):
                self.assertEqual(self._top_entries(self._menus(user)), TOP_ENTRIES)

    def test_director_entries(self):
        """The director's entries of Team and Configuration are the director's only."""
        kam_app, director_app = self._menus(self.kam), self._menus(self.director)
        for section, entries in DIRECTOR_ENTRIES.items():
            with self.subTest(section=section):
                self.assertLessEqual(entries, set(director_app[section]["children_xmlids"]))
                self.assertFalse(entries & set(kam_app[section]["children_xmlids"]))
                # What a KAM sees of the section, the director sees too.
                self.assertLessEqual(
                    set(kam_app[section]["children_xmlids"]), set(director_app[section]["children_xmlids"])
                )
        self.assertNotIn("kam_management.menu_kam_settings", kam_app)
        self.assertEqual(director_app["kam_management.menu_kam_settings"]["name"], "Settings")
        config = director_app["kam_management.menu_kam_config"]["children_xmlids"]
        self.assertEqual(config[0], "kam_management.menu_kam_settings")

    def test_no_operation_in_menus(self):
        """Running the reclassification, refreshing costs or taking a snapshot is no menu entry."""
        operations = {f"ir.actions.server,{self.env.ref(xmlid).id}" for xmlid in OPERATION_ACTIONS}
        for user in (self.kam, self.director):
            for menu in self._menus(user).values():
                with self.subTest(user=user.login, menu=menu["name"]):
                    self.assertNotIn(menu["action"], operations)
                    self.assertFalse(OPERATION_NAME.match(menu["name"]))

    def test_operation_buttons_for_directors_only(self):
        """Directors find the operations as list-header buttons; KAMs don't get them."""
        for model, view_xmlid, string in OPERATION_BUTTONS:
            view = self.env.ref(view_xmlid)
            for user, expected in ((self.director, 1), (self.kam, 0)):
                with self.subTest(view=view_xmlid, user=user.login):
                    views = self.env[model].with_user(user).get_views([(view.id, "list")])
                    arch = etree.fromstring(views["views"]["list"]["arch"])
                    self.assertEqual(len(arch.xpath(f'/list/header/button[@string="{string}"]')), expected)
