"""What the emulator's spark-submit runs for a ``python_wheel_task``: the emulated cluster side.

Finds the console-script entry point named by the task in the wheel of ``package_name`` (the way
Databricks does; without one it calls ``package.entry_point()``), maps ``/Volumes/...`` and
``/Workspace/...`` paths to the emulator's folder (the stand-in for the cluster's FUSE mounts;
a JSON file passed as a parameter, such as the job spec, gets a mapped copy), and calls the entry
point with the task's parameters as ``sys.argv``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import zipfile

MOUNTS = ("/Volumes/", "/Workspace/")


def load_entry_point(wheels: list[str], package: str, entry_point: str) -> str | None:
    norm = re.sub(r"[-_.]+", "_", package).lower()
    for w in wheels:
        with zipfile.ZipFile(w) as z:
            for name in z.namelist():
                parts = name.split("/")
                if len(parts) != 2 or not parts[0].endswith(".dist-info") or parts[1] != "entry_points.txt":
                    continue
                dist = re.sub(r"[-_.]+", "_", parts[0][: -len(".dist-info")].rsplit("-", 1)[0]).lower()
                if dist != norm:
                    continue
                section = None
                for line in z.read(name).decode().splitlines():
                    line = line.strip()
                    if line.startswith("["):
                        section = line.strip("[]")
                    elif section == "console_scripts" and "=" in line:
                        key, value = (s.strip() for s in line.split("=", 1))
                        if key == entry_point:
                            return value
    return None


def map_path(value: str, fs_root: str) -> str:
    if value.startswith("dbfs:/Volumes/"):
        value = value[len("dbfs:"):]
    if value.startswith(MOUNTS):
        return fs_root.rstrip("/") + value
    return value


def map_strings(obj, fs_root: str):
    if isinstance(obj, str):
        return map_path(obj, fs_root)
    if isinstance(obj, list):
        return [map_strings(v, fs_root) for v in obj]
    if isinstance(obj, dict):
        return {k: map_strings(v, fs_root) for k, v in obj.items()}
    return obj


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--fs-root", required=True)
    p.add_argument("--package", required=True)
    p.add_argument("--entry-point", default="")
    p.add_argument("--wheels", default="")
    p.add_argument("params", nargs="*")
    args = p.parse_args()
    params = []
    for value in args.params:
        local = map_path(value, args.fs_root)
        if local != value and local.endswith(".json"):
            try:
                with open(local) as f:
                    doc = json.load(f)
            except (OSError, ValueError):
                pass  # let the entry point report the missing or broken file itself
            else:
                local = local[: -len(".json")] + ".cluster-local.json"
                with open(local, "w") as f:
                    json.dump(map_strings(doc, args.fs_root), f)
        params.append(local)
    wheels = [w for w in args.wheels.split(",") if w]
    target = load_entry_point(wheels, args.package, args.entry_point)
    module_name, func_name = target.split(":") if target else (args.package, args.entry_point)
    module = importlib.import_module(module_name)
    print(f"emulator: running {module_name}:{func_name} from {module.__file__}", file=sys.stderr, flush=True)
    sys.argv = [args.entry_point or args.package, *params]
    rc = getattr(module, func_name)()
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
