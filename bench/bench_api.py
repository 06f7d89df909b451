"""The API under load, through HTTP against a real `launcher serve` process (SQLite, photon).

The server runs in its own process (as in production); the clients are asyncio tasks in this
process, each simulated client on its own keep-alive connection (bench.http_client: one shared
httpx pool measured itself, not the server). Beside each latency the server's own share is
given, read from its Server-Timing header.
Figures:

1. POST /v3/jobGroups latency, p50 / p99, with --clients concurrent clients while the posted
   jobs run on photon. Each client posts, waits for the answer, then waits --think seconds
   (default 1 s: 20 clients offer up to 20 POST/s, each POST starting a job). Target: p99 <=
   20 ms. Then the same clients in a closed loop (no wait): the throughput, and the latency
   when every client always has a request in flight (queueing, not service time).
2. A small job end to end on warm photon: a --rows-row csv -> 3 steps -> one csv file; from
   POST to GET /status answering "Complete" (polled every 10 ms). Median of --repeat, against
   one `spark-submit --master local[2] spark_jobs/main.py --spec` per job (what Livy does),
   --submit-repeat runs in the same process. Targets: median <= 0.75 s; spark-submit / photon >= 20.
3. --burst job groups posted at once: all must end Complete (none lost: every output file is
   there with every row), and GET /status latency p99 while they run. Target: p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.http_client import Connection

ROOT = Path(__file__).resolve().parent.parent
RECIPE = [
    {"op": "derive", "value": "UPPER(name)", "as": "name_upper"},
    {"op": "settype", "col": ["id"], "type": "Integer"},
    {"op": "filter", "row": "id > 10", "action": "Keep"},
]
TERMINAL = ("Complete", "Failed", "Canceled")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))]


def ms(x: float) -> float:
    return round(1000 * x, 1)


def write_input(path: Path, rows: int) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "amount"])
        for i in range(rows):
            w.writerow([i, f"name{i % 1000}", f"{i % 97}.5"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`launcher serve` on a free port, its own LAUNCHER_HOME; stopped by its PID."""

    def __init__(self, home: Path, roots: list[str], log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "LAUNCHER_HOME": str(home), "LAUNCHER_STORAGE_ROOTS": json.dumps(roots),
               "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
               "LAUNCHER_LOG_LEVEL": "warning"}
        env.pop("LAUNCHER_CONFIG", None)
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([str(Path(sys.executable).with_name("launcher")), "serve", "--port", str(self.port)],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=str(home.parent))

    def wait_ready(self, timeout: float = 600) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"launcher serve exited ({self.proc.returncode}); see {self.log.name}")
            try:
                h = httpx.get(self.url + "/health", timeout=2).json()
                if h.get("environments", {}).get("photon") == "ready":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("photon did not become ready")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
        self.log.close()


def make_token(home: Path) -> str:
    from launcher import auth
    from launcher.settings import load_settings
    from launcher.store import repo_users
    from launcher.store.db import make_engine, session_factory, upgrade

    engine = make_engine(load_settings(home=home).database_url)
    upgrade(engine)
    with session_factory(engine)() as s:
        user = repo_users.get_user_by_name(s, "bench") or repo_users.create_user(s, "bench")
        secret = auth.create_token(s, user).secret
        s.commit()
    engine.dispose()
    return secret


async def run(args, tmp: Path, server: Server, token: str) -> dict:
    import httpx

    h = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=max(args.clients, args.burst) + 5)
    async with httpx.AsyncClient(base_url=server.url, headers=h, limits=limits, timeout=120) as c:
        async def ok(r, status=200):
            r = await r
            if r.status_code != status:
                raise SystemExit(f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text}")
            return r.json()

        src = tmp / "data" / "in.csv"
        imp = (await ok(c.post("/v4/importedDatasets", json={"name": "in", "uri": str(src)}), 201))["id"]
        ds = (await ok(c.post("/v4/wrangledDatasets", json={"name": "small", "importedDataset": {"id": imp},
                                                             "recipe": RECIPE}), 201))["id"]
        out = tmp / "data" / "out"

        def body(name: str, action="overwrite") -> dict:
            return {"wrangledDataset": {"id": ds}, "overrides": {"execution": "photon", "writesettings": [
                {"path": str(out / name), "action": action, "format": "csv", "header": True, "asSingleFile": True}]}}

        retries = 0

        async def get(path: str):
            # A keep-alive connection the server closes just as it is reused fails once; a GET
            # may simply be sent again (counted in the figures).
            nonlocal retries
            try:
                return await c.get(path)
            except httpx.TransportError:
                retries += 1
                return await c.get(path)

        async def until_done(gid: int, poll: float) -> str:
            while True:
                st = (await get(f"/v4/jobGroups/{gid}/status")).json()
                if st in TERMINAL:
                    return st
                await asyncio.sleep(poll)

        # -- 2. a small job end to end (first: the server is otherwise idle) -------------------
        async def end_to_end(i: int) -> float:
            t = time.perf_counter()
            gid = (await ok(c.post("/v3/jobGroups", json=body(f"e2e_{i}.csv")), 201))["jobgroupId"]
            st = await until_done(gid, 0.01)
            took = time.perf_counter() - t
            if st != "Complete":
                raise SystemExit(f"job group {gid} ended {st}")
            return took

        for i in range(args.warmup):
            await end_to_end(-1 - i)
        t_e2e = [await end_to_end(i) for i in range(args.repeat)]
        rows_out = sum(1 for _ in open(out / "e2e_0.csv")) - 1

        # -- 1. POST latency with concurrent clients while jobs run -----------------------------
        posted: list[int] = []

        def connection() -> Connection:
            # Each simulated client has its own connection, as real ones do (see http_client).
            return Connection("127.0.0.1", server.port, h)

        async def load(think: float) -> tuple[list[float], float]:
            lat: list[float] = []

            async def client(k: int) -> None:
                conn = connection()
                await asyncio.sleep(think * k / args.clients)  # spread the clients' first POSTs
                for j in range(args.posts):
                    t = time.perf_counter()
                    r = await conn.request("POST", "/v3/jobGroups", body(f"load_{k}_{j}.csv"))
                    lat.append(time.perf_counter() - t)
                    if r.status != 201:
                        raise SystemExit(f"POST -> {r.status}: {r.body[:2000]!r}")
                    server_ms.append(r.server_ms())
                    posted.append(r.json()["jobgroupId"])
                    await asyncio.sleep(think)
                await conn.close()

            t0 = time.perf_counter()
            await asyncio.gather(*(client(k) for k in range(args.clients)))
            return lat, time.perf_counter() - t0

        server_ms: list[float] = []
        paced, paced_secs = await load(args.think)
        paced_server_ms = list(server_ms)
        busy = sum(1 for g in (await ok(c.get("/v4/jobGroups?limit=1000")))["data"]
                   if g["status"] in ("Pending", "InProgress"))
        closed, closed_secs = await load(0.0)
        # The load's jobs are not the point any more: cancel what is still queued or running.
        for gid in posted:
            r = await c.post(f"/v4/jobGroups/{gid}/cancel")
            if r.status_code not in (200, 409):
                raise SystemExit(f"cancel {gid} -> {r.status_code}: {r.text}")
        for gid in posted:
            await until_done(gid, 0.05)

        # -- 3. a burst of job groups, GET /status latency while they run -----------------------
        t0 = time.perf_counter()
        answers = await asyncio.gather(*(ok(c.post("/v4/jobGroups", json=body(f"burst_{i}.csv", "create")), 201)
                                         for i in range(args.burst)))
        burst_post_secs = time.perf_counter() - t0
        ids = [a["id"] for a in answers]
        status_lat: list[float] = []
        final: dict[int, str] = {}

        status_server_ms: list[float] = []

        async def watcher(gid: int) -> None:
            conn = connection()
            while True:
                t = time.perf_counter()
                r = await conn.request("GET", f"/v4/jobGroups/{gid}/status")
                status_lat.append(time.perf_counter() - t)
                status_server_ms.append(r.server_ms())
                st = r.json()
                if st in TERMINAL:
                    final[gid] = st
                    await conn.close()
                    return
                await asyncio.sleep(0.1)

        await asyncio.gather(*(watcher(g) for g in ids))
        burst_secs = time.perf_counter() - t0
        complete = sum(1 for st in final.values() if st == "Complete")
        files_ok = sum(1 for g in ids if (out / f"burst_{ids.index(g)}_{g}.csv").exists()
                       and sum(1 for _ in open(out / f"burst_{ids.index(g)}_{g}.csv")) - 1 == rows_out)

    return {
        "post_latency": {"clients": args.clients, "posts": len(paced), "think_s": args.think,
                         "offered_per_s": round(len(paced) / paced_secs, 1),
                         "p50_ms": ms(pct(paced, 0.5)), "p99_ms": ms(pct(paced, 0.99)), "max_ms": ms(max(paced)),
                         "server_p50_ms": pct(paced_server_ms, 0.5), "server_p99_ms": pct(paced_server_ms, 0.99),
                         "groups_queued_or_running_after": busy,
                         "target_p99_le_20ms": pct(paced, 0.99) <= 0.020},
        "post_latency_closed_loop": {"clients": args.clients, "posts": len(closed),
                                     "throughput_per_s": round(len(closed) / closed_secs, 1),
                                     "p50_ms": ms(pct(closed, 0.5)), "p99_ms": ms(pct(closed, 0.99))},
        "end_to_end": {"rows_in": args.rows, "rows_out": rows_out, "repeat": args.repeat,
                       "median_s": round(statistics.median(t_e2e), 3), "p90_s": round(pct(t_e2e, 0.9), 3),
                       "target_median_le_0.75s": statistics.median(t_e2e) <= 0.75},
        "burst": {"job_groups": args.burst, "complete": complete, "outputs_with_every_row": files_ok,
                  "none_lost": complete == files_ok == args.burst,
                  "post_all_s": round(burst_post_secs, 2), "all_done_s": round(burst_secs, 1),
                  "status_gets": len(status_lat), "get_retries": retries, "status_p50_ms": ms(pct(status_lat, 0.5)),
                  "status_p99_ms": ms(pct(status_lat, 0.99)),
                  "status_server_p99_ms": pct(status_server_ms, 0.99),
                  "target_status_p99_le_50ms": pct(status_lat, 0.99) <= 0.050},
        "_e2e_median": statistics.median(t_e2e),
    }


def spark_submit_times(tmp: Path, rows_src: Path, repeat: int) -> list[float]:
    """One spark-submit per job, the same job (3 steps, one csv), start to exit."""
    from spark_jobs.spec import JobSpec

    submit = Path(__import__("pyspark").__file__).parent / "bin" / "spark-submit"
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    times = []
    for i in range(repeat):
        spec = JobSpec(jobGroupId=900_000 + i, jobs={"wrangle": 1}, target=2, resultUri=str(tmp / f"submit_{i}.result.json"),
                       datasets=[{"kind": "imported", "id": 1, "uri": str(rows_src), "format": "csv"},
                                 {"kind": "wrangled", "id": 2, "input": {"kind": "imported", "id": 1}, "recipe": RECIPE}],
                       outputs=[{"jobId": 2, "path": str(tmp / f"submit_{i}.csv"), "action": "overwrite",
                                 "format": "csv", "header": True, "asSingleFile": True}])
        spec_path = tmp / f"submit_{i}.json"
        spec_path.write_text(spec.to_json())
        t = time.perf_counter()
        proc = subprocess.run(
            [str(submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
             "--conf", "spark.sql.shuffle.partitions=4",
             "--conf", f"spark.driver.extraJavaOptions=-Dlog4j2.configurationFile={ROOT / 'conf' / 'log4j2.properties'}",
             str(ROOT / "spark_jobs" / "main.py"), "--spec", str(spec_path)],
            capture_output=True, text=True, env=env, cwd=str(ROOT))
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise SystemExit(f"spark-submit failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_api", description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--posts", type=int, default=10, help="POSTs per client (per phase)")
    p.add_argument("--think", type=float, default=1.0, help="seconds a client waits between POSTs")
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--submit-repeat", type=int, default=3)
    p.add_argument("--burst", type=int, default=50)
    args, _ = p.parse_known_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    home = tmp / "home"
    (tmp / "data").mkdir()
    src = tmp / "data" / "in.csv"
    write_input(src, args.rows)
    token = make_token(home)
    server = Server(home, [str(tmp / "data")], tmp / "serve.log")
    try:
        server.wait_ready()
        figures = asyncio.run(run(args, tmp, server, token))
    finally:
        server.stop()
    try:
        t_submit = spark_submit_times(tmp, src, args.submit_repeat)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    e2e = figures.pop("_e2e_median")
    figures["spark_submit"] = {"repeat": args.submit_repeat, "median_s": round(statistics.median(t_submit), 2),
                               "speedup_over_photon": round(statistics.median(t_submit) / e2e, 1),
                               "target_speedup_ge_20": statistics.median(t_submit) / e2e >= 20}
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
