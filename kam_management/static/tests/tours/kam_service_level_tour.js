/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// A director opens the service level of the key accounts, previews the terms it would change on
// the customers already in the tier, and applies it.
registry.category("web_tour.tours").add("kam_service_level_tour", {
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
            content: "Open the configuration",
            run: "click",
        },
        {
            trigger: "[data-menu-xmlid='kam_management.menu_kam_service_levels']",
            content: "Open the service levels",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:contains('Tour 60 days') td[name='tier']",
            content: "Open the level of the key accounts",
            run: "click",
        },
        {
            trigger: ".o_form_view button[name='action_open_apply_wizard']",
            content: "Preview the terms it would change",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='line_ids'] .o_data_row:contains('Tour Level Customer'):contains('Tour 60 days')",
            content: "The key account would get 60 days",
        },
        {
            trigger: ".modal button[name='action_apply']",
            content: "Apply the service level",
            run: "click",
        },
        {
            trigger: ".o_notification:contains('Service levels applied')",
            content: "The terms are applied",
        },
    ],
});
