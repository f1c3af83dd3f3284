"""Reaching a page through the grouped main menu (navigation.MENU): most items sit in a drop-down that opens first."""

from __future__ import annotations


def menu_link(page, name: str):
    """The main menu's link named `name`, made visible: the collapsed menu (a phone) and the link's drop-down are
    opened as a person would, by clicking them."""
    nav = page.get_by_role("navigation", name="Main")
    link = nav.get_by_role("link", name=name, exact=True)
    toggler = nav.locator(".navbar-toggler")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()
        nav.locator("#nav.show").wait_for()
    if not link.is_visible():
        # Roles are looked up among visible elements only: the closed drop-down's link is found with the hidden ones.
        hidden = nav.get_by_role("link", name=name, exact=True, include_hidden=True)
        hidden.locator("xpath=ancestor::li[contains(@class, 'dropdown')]/button").click()
        link.wait_for(state="visible", timeout=5_000)
    return link
