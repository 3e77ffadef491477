from django import template

from core.names import person_name as _person_name

register = template.Library()


@register.filter
def person_name(user) -> str:
    """{{ user|person_name }}: family name first for a Chinese name (core.names)."""
    return _person_name(user)
