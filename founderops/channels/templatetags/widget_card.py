"""The chat widget's card on the cockpit's Channels page gathers its own figures."""

from __future__ import annotations

from django import template

from founderops.channels import widget

register = template.Library()


@register.simple_tag
def widget_summary() -> widget.Summary:
    return widget.summary()
