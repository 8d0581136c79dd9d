"""`{{ amount|money:currency }}`: the one money filter (`production.pricing.format_money`)."""

from django import template

from production.pricing import format_money

register = template.Library()
register.filter("money", format_money)
