"""Colours, variants and print placements (issue 23).

Backfill: every garment gets a default colour ("Default", white swatch) with a variant per offered
size carrying its `size_upcharges`, and a front placement (12 x 16 in, included in the price);
every line item gets its garment's default colour and the variant's SKU; every order gets its
`design_url` as its front design. Prices do not change. The line item's colour is required after
the backfill.
"""

import django.core.validators
import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models
from django.utils.text import slugify

BATCH = 2000


def variant_sku(garment_id, color_name, size):
    # As production.services.catalogue.variant_sku, frozen here.
    return f"G{garment_id}-{slugify(color_name).upper()}-{slugify(size).upper()}"[:64]


def backfill_catalogue(apps, schema_editor):
    Garment = apps.get_model("production", "Garment")
    GarmentColor = apps.get_model("production", "GarmentColor")
    Variant = apps.get_model("production", "Variant")
    Placement = apps.get_model("production", "Placement")
    LineItem = apps.get_model("production", "LineItem")
    ProductionOrder = apps.get_model("production", "ProductionOrder")
    OrderDesign = apps.get_model("production", "OrderDesign")
    if schema_editor.connection.vendor == "postgresql":
        # Check foreign keys as rows are written, not at commit: the line item table is altered
        # after this, which PostgreSQL refuses while its rows have checks pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for garment in Garment.objects.order_by("pk").iterator():
        color = GarmentColor.objects.create(
            garment=garment, name="Default", hex="#ffffff", position=0, is_default=True
        )
        upcharges = garment.size_upcharges or {}
        sizes = list(dict.fromkeys(str(size) for size in garment.sizes or []))
        Variant.objects.bulk_create(
            Variant(
                garment=garment,
                color=color,
                size=size,
                sku=variant_sku(garment.pk, color.name, size),
                upcharge=int(upcharges.get(size, 0)),
            )
            for size in sizes
        )
        front = Placement.objects.create(
            garment=garment,
            code="front",
            name="Front",
            width_in="12.00",
            height_in="16.00",
            unit_amount=0,
            position=0,
        )
        lines = LineItem.objects.filter(order__garment_id=garment.pk)
        lines.update(color=color)
        for size in sizes:
            lines.filter(size=size).update(sku=variant_sku(garment.pk, color.name, size))
        orders = ProductionOrder.objects.filter(garment_id=garment.pk).order_by("pk")
        batch = []
        for order_id, url in orders.values_list("pk", "design_url").iterator():
            batch.append(OrderDesign(order_id=order_id, placement=front, url=url))
            if len(batch) >= BATCH:
                OrderDesign.objects.bulk_create(batch)
                batch = []
        OrderDesign.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("production", "0012_form_request_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="lineitem",
            name="sku",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.CreateModel(
            name="GarmentColor",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(help_text="As customers read it, e.g. Black.", max_length=50),
                ),
                (
                    "hex",
                    models.CharField(
                        default="#ffffff",
                        help_text="Swatch colour, #rrggbb.",
                        max_length=7,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^#[0-9a-fA-F]{6}$", "A swatch like #111111."
                            )
                        ],
                    ),
                ),
                ("position", models.PositiveSmallIntegerField(default=0)),
                ("is_default", models.BooleanField(default=False)),
                (
                    "garment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="colors",
                        to="production.garment",
                    ),
                ),
            ],
            options={
                "ordering": ["garment", "position", "id"],
            },
        ),
        migrations.AddField(
            model_name="lineitem",
            name="color",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="line_items",
                to="production.garmentcolor",
            ),
        ),
        migrations.CreateModel(
            name="Placement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "code",
                    models.CharField(
                        choices=[
                            ("front", "Front"),
                            ("back", "Back"),
                            ("left_sleeve", "Left sleeve"),
                            ("right_sleeve", "Right sleeve"),
                            ("neck_label", "Inside neck label"),
                            ("pocket", "Pocket"),
                        ],
                        max_length=20,
                    ),
                ),
                ("name", models.CharField(max_length=50)),
                (
                    "width_in",
                    models.DecimalField(
                        decimal_places=2,
                        max_digits=5,
                        validators=[django.core.validators.MinValueValidator(0)],
                    ),
                ),
                (
                    "height_in",
                    models.DecimalField(
                        decimal_places=2,
                        max_digits=5,
                        validators=[django.core.validators.MinValueValidator(0)],
                    ),
                ),
                (
                    "unit_amount",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Price per item of printing here too, in minor units (front: 0).",
                    ),
                ),
                ("position", models.PositiveSmallIntegerField(default=0)),
                (
                    "garment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="placements",
                        to="production.garment",
                    ),
                ),
            ],
            options={
                "ordering": ["garment", "position", "id"],
            },
        ),
        migrations.CreateModel(
            name="OrderDesign",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("url", models.URLField(max_length=2048)),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="designs",
                        to="production.productionorder",
                    ),
                ),
                (
                    "placement",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="designs",
                        to="production.placement",
                    ),
                ),
            ],
            options={
                "ordering": ["order", "placement__position", "id"],
            },
        ),
        migrations.CreateModel(
            name="Variant",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("size", models.CharField(max_length=20)),
                ("sku", models.CharField(max_length=64, unique=True)),
                (
                    "shopify_variant_gid",
                    models.CharField(
                        blank=True,
                        help_text="gid://shopify/ProductVariant/…, when known.",
                        max_length=100,
                    ),
                ),
                (
                    "upcharge",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Extra per unit over the garment's price, in minor units.",
                    ),
                ),
                ("in_stock", models.BooleanField(default=True)),
                (
                    "color",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="variants",
                        to="production.garmentcolor",
                    ),
                ),
                (
                    "garment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="variants",
                        to="production.garment",
                    ),
                ),
            ],
            options={
                "ordering": ["garment", "color__position", "color_id", "id"],
            },
        ),
        migrations.AddConstraint(
            model_name="garmentcolor",
            constraint=models.UniqueConstraint(
                models.F("garment"),
                django.db.models.functions.text.Lower("name"),
                name="color_name_per_garment",
            ),
        ),
        migrations.AddConstraint(
            model_name="garmentcolor",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_default", True)),
                fields=("garment",),
                name="one_default_color_per_garment",
            ),
        ),
        migrations.AddConstraint(
            model_name="placement",
            constraint=models.UniqueConstraint(
                fields=("garment", "code"), name="placement_code_per_garment"
            ),
        ),
        migrations.AddConstraint(
            model_name="orderdesign",
            constraint=models.UniqueConstraint(
                fields=("order", "placement"), name="design_per_placement"
            ),
        ),
        migrations.AddConstraint(
            model_name="variant",
            constraint=models.UniqueConstraint(fields=("color", "size"), name="variant_color_size"),
        ),
        migrations.AddConstraint(
            model_name="variant",
            constraint=models.UniqueConstraint(
                condition=models.Q(("shopify_variant_gid", ""), _negated=True),
                fields=("shopify_variant_gid",),
                name="variant_shopify_gid_unique",
            ),
        ),
        migrations.RunPython(backfill_catalogue, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="lineitem",
            name="color",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="line_items",
                to="production.garmentcolor",
            ),
        ),
    ]
