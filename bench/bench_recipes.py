"""A 10-step Wrangle recipe against the same logic hand-written in PySpark, in one session.

The recipe (derive, filter, settype, replace, split, join, aggregate, pivot, window, sort) runs
through ``apply_recipe`` on the csv input read as text (as a job reads it); the hand-written
version is what a careful person writes with built-in functions (``try_cast`` where text becomes
numbers, since Spark 4's ANSI mode fails a job on the first bad value). Both end in Spark's
``noop`` sink, so the figure is the plan's work, not a file format's. Each figure is the median
of ``--repeat`` runs (default 3) after one warm-up, the two taking turns. Target ratio <= 1.05.

The physical plans of both are printed side by side with expression ids removed, and compared
operator by operator.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import time

from bench import cpu_clock, median, session, take_turns
from bench.datagen import DEFAULT_ROWS, csv_input

STEPS = [
    "derive type: single value: ROUND(price * qty, 2) as: 'amount'",
    "filter type: custom rowType: single row: status != 'returned' && score > 40 action: Keep",
    {"op": "settype", "col": ["qty"], "type": "Integer"},
    "replace col: city on: 'city_' with: 'C-'",
    "split col: token on: 'a' limit: 1",
    {"op": "join", "with": {"wrangledDataset": 2}, "type": "left", "on": [{"left": "city", "right": "city"}]},
    "aggregate value: SUM(amount), COUNT(), AVERAGE(qty) group: city, status, region",
    "pivot col: status value: SUM(sum_amount) group: region, city values: new, shipped",
    "window value: RANK() group: region order: -new",
    "sort order: region, -new",
]


def regions(spark):
    """The joined dataset: 500 cities, each in one of 7 regions."""
    from pyspark.sql import functions as F

    return spark.range(500).select(
        F.concat(F.lit("C-"), F.col("id").cast("string")).alias("city"),
        F.concat(F.lit("region_"), (F.col("id") % 7).cast("string")).alias("region"))


def by_recipe(spark, src, other):
    from spark_jobs.recipes import RecipeContext, apply_recipe

    ctx = RecipeContext(spark=spark, resolve=lambda ref: other)
    return apply_recipe(src, STEPS, ctx), ctx


def by_hand(src, other, count_mismatches: bool = False):
    """``count_mismatches``: also count the qty values settype could not convert, as the
    recipe does (an Observation); off in the timed runs, which compare against plain code."""
    from pyspark.sql import Observation, Window
    from pyspark.sql import functions as F

    df = src.withColumn("amount", F.round(F.col("price").try_cast("double")
                                          * F.col("qty").try_cast("double"), 2))
    df = df.filter((F.col("status") != "returned") & (F.col("score").try_cast("double") > 40))
    if count_mismatches:
        qty = F.col("qty")
        df = df.observe(Observation(), F.count_if(
            qty.isNotNull() & (qty != F.lit("")) & qty.try_cast("bigint").isNull()).alias("qty"))
    df = df.withColumn("qty", F.col("qty").try_cast("bigint"))
    df = df.withColumn("city", F.regexp_replace("city", "city_", "C-"))
    parts = F.split("token", "a", 2)
    df = df.select(*[c for c in df.columns if c != "token"][:5],
                   F.get(parts, 0).alias("token1"), F.get(parts, 1).alias("token2"),
                   *[c for c in df.columns if c != "token"][5:])
    df = df.join(other, "city", "left")
    df = df.groupBy("city", "status", "region").agg(
        F.sum("amount").alias("sum_amount"), F.count(F.lit(1)).alias("count"),
        F.avg("qty").alias("average_qty"))
    df = df.groupBy("region", "city").pivot("status", ["new", "shipped"]).agg(
        F.sum("sum_amount").alias("sum_sum_amount"))
    df = df.withColumn("window_1", F.rank().over(
        Window.partitionBy("region").orderBy(F.col("new").desc_nulls_last())))
    return df.orderBy(F.col("region").asc_nulls_last(), F.col("new").desc_nulls_last())


def physical_plan(df) -> list[str]:
    text = df._jdf.queryExecution().executedPlan().toString()
    text = re.sub(r"#\d+L?", "", text)
    text = re.sub(r"plan_id=\d+", "plan_id", text)
    text = re.sub(r"CollectMetrics [0-9a-f-]{36}", "CollectMetrics", text)  # Observation names
    text = re.sub(r"_common_expr_\d+", "_common_expr", text)  # generated names
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def operators(plan: list[str]) -> list[str]:
    out = []
    for line in plan:
        m = re.match(r"^[\s:+\-]*(\*\(\d+\)\s*)?([A-Za-z]+)", line)
        if m:
            out.append(m.group(2))
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="bench_recipes", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--show-plans", action="store_true", help="print both physical plans")
    args, _ = p.parse_known_args(argv)
    spark = session("bench-recipes")
    path = csv_input(spark, args.rows)
    src = spark.read.option("header", True).option("escape", '"').csv(path)  # all text
    other = regions(spark)

    t = time.perf_counter()
    recipe_df, ctx = by_recipe(spark, src, other)
    compile_s = time.perf_counter() - t
    hand_df = by_hand(src, other)
    assert recipe_df.columns == hand_df.columns, (recipe_df.columns, hand_df.columns)
    same_rows = sorted(map(tuple, recipe_df.collect())) == sorted(map(tuple, hand_df.collect()))

    def run(make):
        make().write.format("noop").mode("overwrite").save()

    times, cpus = take_turns({
        "recipe": lambda: run(lambda: by_recipe(spark, src, other)[0]),
        "hand-written": lambda: run(lambda: by_hand(src, other)),
        "hand-written+counts": lambda: run(lambda: by_hand(src, other, count_mismatches=True)),
    }, args.repeat, cpu_clock(spark))
    t_recipe, t_hand = median(times["recipe"]), median(times["hand-written"])
    t_counts = median(times["hand-written+counts"])
    c = {k: median(v) for k, v in cpus.items() if v}

    # Plans of fresh DataFrames (a collected one shows AQE's final plan instead).
    plan_r = physical_plan(by_recipe(spark, src, other)[0])
    plan_h = physical_plan(by_hand(src, other))
    ops_r, ops_h = operators(plan_r), operators(plan_h)
    op_diff = [d for d in difflib.ndiff(ops_h, ops_r) if d[:1] in "+-"]
    plan_o = physical_plan(by_hand(src, other, count_mismatches=True))
    figures = {
        "rows_in": args.rows,
        "repeat": args.repeat,
        "recipe_s": round(t_recipe, 2),
        "hand_written_s": round(t_hand, 2),
        "ratio": round(t_recipe / t_hand, 3),
        "hand_written_with_counts_s": round(t_counts, 2),
        "ratio_to_hand_written_with_counts": round(t_recipe / t_counts, 3),
        "cpu_s": {k: round(v, 2) for k, v in c.items()},
        "ratio_cpu": round(c["recipe"] / c["hand-written"], 3) if c else None,
        "ratio_cpu_to_hand_written_with_counts": round(
            c["recipe"] / c["hand-written+counts"], 3) if c else None,
        "apply_recipe_s": round(compile_s, 3),
        "same_rows": same_rows,
        "plans_identical": plan_r == plan_h,
        "plans_identical_when_hand_written_counts_mismatches": plan_r == plan_o,
        "operators_identical": ops_r == ops_h,
        "operator_differences": op_diff,
        "exchanges": {"recipe": ops_r.count("Exchange"), "hand": ops_h.count("Exchange")},
        "mismatches_observed": {k: v for o in ctx.mismatch_observations for k, v in o.get.items()},
        "all_runs_s": {k: [round(x, 2) for x in v] for k, v in times.items()},
        "all_runs_cpu_s": {k: [round(x, 2) for x in v] for k, v in cpus.items()},
    }
    print(f"rows: {args.rows:,}; 10-step recipe; median of {args.repeat} runs after a warm-up")
    print(f"recipe {t_recipe:7.2f} s   hand-written {t_hand:7.2f} s   "
          f"ratio {figures['ratio']:.3f} (target <= 1.05)   apply_recipe {compile_s:.3f} s")
    print(f"hand-written counting settype mismatches too {t_counts:7.2f} s   "
          f"ratio {figures['ratio_to_hand_written_with_counts']:.3f}")
    if c:
        print(f"cpu (driver JVM + Python): recipe {c['recipe']:.2f} s, hand-written "
              f"{c['hand-written']:.2f} s (ratio {figures['ratio_cpu']:.3f}), with counts "
              f"{c['hand-written+counts']:.2f} s (ratio "
              f"{figures['ratio_cpu_to_hand_written_with_counts']:.3f})")
    print(f"same rows: {same_rows}; physical plans identical: {figures['plans_identical']}; "
          f"operators identical: {figures['operators_identical']} {op_diff or ''}; "
          f"exchanges: {figures['exchanges']}")
    print("physical plans identical when the hand-written code counts settype mismatches as "
          f"the recipe does: {plan_r == plan_o}")
    if args.show_plans or not figures["plans_identical"]:
        diff = list(difflib.unified_diff(plan_h, plan_r, "hand-written", "recipe", lineterm="",
                                         n=0))
        print("\n".join(diff) if args.show_plans is False else
              "\n".join(["-- recipe --", *plan_r, "-- hand-written --", *plan_h]))
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
