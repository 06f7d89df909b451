"""Every recipe line quoted in reference/TRIFACTA-NOTES.md parses, validates and runs."""

from recipe_helpers import context
from spark_jobs.recipes import apply_recipe, validate_recipe
from spark_jobs.recipes.steps import parse_step

# The lines as the notes quote them, in order.
LINES = [
    "settype col: OrderID type: Integer",
    "textformat col: ShipCity type: propercase",
    "replacemissing col: ShipPostalCode with: custom text: 'T12'",
    "derive type: single value: IF(ShipCountry == 'USA', ShipPostalCode, '') as: 'US_PostalCode'",
    "drop col: ShipRegion,US_PostalCode action: Drop",
    "rename type: manual mapping: [newShipRegion,'ShipRegion']",
    "filter type: custom rowType: single row: Quantity > 10 action: Keep",
    "derive type: multiple value: ROLLINGSUM(SALES, -1, 0) group: MONTH order: $sourcerownumber "
    "as: 'rollingsum_SALES'",
    "pivot value: SUM(Sales) group: prodId",
    "sort order: -Product",
]
COLUMNS = ("OrderID string, ShipCity string, ShipPostalCode string, ShipCountry string, "
           "ShipRegion string, newShipRegion string, Quantity string, Sales string, "
           "MONTH string, prodId string, Product string")
ROWS = [
    ("1", "berlin", "10115", "Germany", "BE", "Berlin", "12", "100", "1", "p1", "Apfel"),
    ("2", "NEW YORK", None, "USA", "NY", "New York", "20", "50", "1", "p2", "Book"),
    ("x", "oslo", "", "Norway", None, "Oslo", "5", "70", "2", "p1", "Ćevapi"),
    ("4", "boston", "02110", "USA", "MA", "Mass.", "30", "abc", "2", "p1", "Desk"),
    ("5", None, "75001", "France", "", None, None, "25", "1", "p2", "Ünï"),
]


def test_every_line_parses():
    for line in LINES:
        assert parse_step(line, 0).problems == [], line


def test_the_lines_run_as_recipes(spark):
    df = spark.createDataFrame(ROWS, COLUMNS).coalesce(1)
    recipe = LINES[:8]
    assert validate_recipe(recipe, df.schema) == []
    ctx = context(spark)
    out = apply_recipe(df, recipe, ctx)
    assert out.columns == ["OrderID", "ShipCity", "ShipPostalCode", "ShipCountry", "ShipRegion",
                           "Quantity", "Sales", "MONTH", "prodId", "Product", "rollingsum_SALES"]
    got = sorted((tuple(r) for r in out.collect()), key=lambda r: r[-2])
    assert got == [
        (1, "Berlin", "10115", "Germany", "Berlin", "12", "100", "1", "p1", "Apfel", 100.0),
        (2, "New York", "T12", "USA", "New York", "20", "50", "1", "p2", "Book", 150.0),
        (4, "Boston", "02110", "USA", "Mass.", "30", "abc", "2", "p1", "Desk", None),
    ]
    out.count()
    assert [o.get for o in ctx.mismatch_observations] == [{"OrderID": 1}]

    pivoted = apply_recipe(out, [LINES[8]], ctx)
    assert sorted(tuple(r) for r in pivoted.collect()) == [("p1", 100.0), ("p2", 50.0)]
    ordered = apply_recipe(out, [LINES[9]], ctx)
    assert [r["Product"] for r in ordered.collect()] == ["Desk", "Book", "Apfel"]
