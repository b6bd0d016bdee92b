"""Throughput of the explicit-state model checker, in states and transitions per second.

The shipped specs have tens of states, too few to time the checker, so this also builds a scaled
copy of the project whose order_lifecycle spec checks a larger MAX_QTY, regenerates it, and checks
that. Each check runs in its own subprocess so its peak RSS is its own. Prints measurements, never
asserts them.

    python benchmarks/model_checker.py [--max-qty N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from codegen.pipeline import Project, generate, write

REPO = Project.locate().root
SHIPPED = ("order_lifecycle", "intent_lifecycle", "execution_control")
MAX_QTY_CHECK = re.compile(r"(const MAX_QTY = [0-9_]+ check )[0-9_]+")

# Run in the subprocess: check one machine's model, print its result and the peak RSS as JSON.
CHECK_ONE = """
import dataclasses, importlib, json, resource, sys
from codegen.verify.model_checker import check_model
model = importlib.import_module(f"canonicalflow._generated.{sys.argv[1]}_model")
result = check_model(model)
print(json.dumps({
    **dataclasses.asdict(result),
    "model_file": model.__file__,
    "max_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def scaled_copy(tmp: Path, max_qty: int) -> float:
    """Copy the project into `tmp` with a larger check bound for MAX_QTY, regenerate it; seconds taken.

    The copy, not the checkout, is changed, so the benchmark leaves the working tree alone.
    """
    for name in ("spec", "canonicalflow"):
        shutil.copytree(REPO / name, tmp / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp / "pyproject.toml")
    spec = tmp / "spec" / "order_lifecycle.cflow"
    text, count = MAX_QTY_CHECK.subn(rf"\g<1>{max_qty}", spec.read_text())
    if count != 1:
        raise SystemExit(f"expected one `const MAX_QTY = ... check N` in {spec}, found {count}")
    spec.write_text(text)
    started = time.perf_counter()
    project = Project(tmp)
    write(project, generate(project))
    return time.perf_counter() - started


def check_in_subprocess(root: Path, machine: str) -> dict[str, Any]:
    """Run the checker where `root`'s canonicalflow package is the one imported."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, (str(root), os.environ.get("PYTHONPATH")))),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHECK_ONE, machine],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"model checker subprocess for {machine} failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    if not Path(result["model_file"]).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"checked {result['model_file']}, not the model under {root}")
    return result


def rss_mib(max_rss: int) -> float:
    """ru_maxrss is KiB on Linux and bytes on macOS."""
    return max_rss / 2**20 if sys.platform == "darwin" else max_rss / 2**10


def row(label: str, r: dict[str, Any]) -> str:
    """One aligned table line for one check."""
    seconds = r["seconds"]
    verdict = "ok" if not r["failures"] else f"FAILED ({len(r['failures'])})"
    return (
        f"{label:<34} {r['states']:>10,} {r['transitions']:>12,} {r['domain_states']:>10,} {seconds:>8.2f} "
        f"{r['states'] / seconds:>10,.0f} {r['transitions'] / seconds:>13,.0f} {rss_mib(r['max_rss']):>8.1f}  {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--max-qty",
        type=int,
        default=20,
        help="check bound of MAX_QTY in the scaled order_lifecycle copy (shipped: 3; default 20, about 15 s on 2 cores)",
    )
    args = parser.parse_args()

    print(f"model checker (codegen.verify.model_checker.check_model), Python {sys.version.split()[0]}")
    header = f"{'spec':<34} {'states':>10} {'transitions':>12} {'domain':>10} {'seconds':>8}"
    print(f"{header} {'states/s':>10} {'transitions/s':>13} {'RSS MiB':>8}  verdict")
    for machine in SHIPPED:
        print(row(f"{machine} (shipped)", check_in_subprocess(REPO, machine)), flush=True)
    with tempfile.TemporaryDirectory(prefix="cflow-bench-") as tmp:
        regenerated = scaled_copy(Path(tmp), args.max_qty)
        scaled = check_in_subprocess(Path(tmp), "order_lifecycle")
    print(row(f"order_lifecycle (MAX_QTY check {args.max_qty})", scaled))
    print(
        "seconds: check_model's own timer (BFS plus the inductiveness pass over the `domain` states); "
        "RSS: the checking subprocess's peak"
    )
    print(
        f"regenerating the scaled copy took {regenerated:.1f} s (not included above; "
        "load_specs' bounded-domain check also grows with MAX_QTY)"
    )


if __name__ == "__main__":
    main()
