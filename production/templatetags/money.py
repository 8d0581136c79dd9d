"""`{{ amount|money:currency }}`: the one money filter (`production.pricing.format_money`);
`{{ code|country_name }}`: a country's name (`production.addresses.country_name`)."""

from django import template

from production.addresses import country_name
from production.pricing import format_money

register = template.Library()
register.filter("money", format_money)
register.filter("country_name", country_name)
