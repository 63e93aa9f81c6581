/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// A director, who is no administrator, opens Key Accounts > Configuration > Settings, changes
// the demotion grace, saves, sees the change in the settings history, and finds the new value
// when the screen opens again.
registry.category("web_tour.tours").add("kam_settings_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            trigger: ".o_app[data-menu-xmlid='kam_management.menu_kam_root']",
            content: "Open the Key Accounts app",
            run: "click",
        },
        {
            trigger: ".o_main_navbar [data-menu-xmlid='kam_management.menu_kam_config']",
            content: "Open the Configuration menu",
            run: "click",
        },
        {
            trigger: ".dropdown-item[data-menu-xmlid='kam_management.menu_kam_settings']",
            content: "Open the key-account settings",
            run: "click",
        },
        {
            trigger: ".o_setting_box#kam_grace .o_field_widget[name='kam_demotion_grace'] input",
            content: "Change the demotion grace",
            run: "edit 3",
        },
        {
            trigger: ".o_form_button_save",
            content: "Save",
            run: "click",
        },
        {
            trigger: "body:not(:has(.o_dirty_warning)) .o_setting_box#kam_grace",
            content: "The settings are saved",
        },
        {
            trigger: ".o_main_navbar [data-menu-xmlid='kam_management.menu_kam_config']",
            content: "Open the Configuration menu",
            run: "click",
        },
        {
            trigger: ".dropdown-item[data-menu-xmlid='kam_management.menu_kam_settings_log']",
            content: "Open the settings history",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:contains('Demotion grace (runs)'):contains('Director Dora')",
            content: "The change is in the history, with who made it",
        },
        {
            trigger: ".o_main_navbar [data-menu-xmlid='kam_management.menu_kam_config']",
            content: "Open the Configuration menu again",
            run: "click",
        },
        {
            trigger: ".dropdown-item[data-menu-xmlid='kam_management.menu_kam_settings']",
            content: "Open the key-account settings again",
            run: "click",
        },
        {
            trigger: ".o_setting_box#kam_grace .o_field_widget[name='kam_demotion_grace'] input:value(3)",
            content: "The new demotion grace is kept",
        },
    ],
});
