"""mypy against a committed baseline that may only shrink.

`python tools/mypy_baseline.py` runs mypy (settings in pyproject.toml) and fails when any file has
more errors of a kind than mypy-baseline.txt allows; `--update` rewrites the baseline after errors
were fixed (it refuses to let any count grow).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "mypy-baseline.txt"
ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+(?::\d+)?: error: .*\[(?P<code>[a-z0-9-]+)\]\s*$")

Counts = Counter[tuple[str, str]]


def run_mypy() -> tuple[Counts, list[str]]:
    """Error counts per (file, error code) and mypy's error lines."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-pretty", "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):  # 2: mypy itself failed (bad settings, crash)
        sys.exit(f"mypy could not run:\n{result.stdout}{result.stderr}")
    counts: Counts = Counter()
    errors = []
    for line in result.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            counts[match["path"], match["code"]] += 1
            errors.append(line)
    return counts, errors


def read_baseline() -> Counts:
    counts: Counts = Counter()
    if BASELINE.exists():
        for line in BASELINE.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                path, code, count = line.split()
                counts[path, code] = int(count)
    return counts


def write_baseline(counts: Counts) -> None:
    lines = [
        "# mypy errors allowed per file and error code; may only shrink "
        "(python tools/mypy_baseline.py --update).",
        f"# total {sum(counts.values())}",
        *(f"{path} {code} {n}" for (path, code), n in sorted(counts.items()) if n),
    ]
    BASELINE.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the baseline (shrink only)")
    args = parser.parse_args()
    current, errors = run_mypy()
    if args.update and not BASELINE.exists():
        write_baseline(current)
        print(f"mypy: baseline started at {sum(current.values())} errors")
        return 0
    baseline = read_baseline()
    grown = {key: n for key, n in current.items() if n > baseline.get(key, 0)}
    shrunk = {key: n for key, n in baseline.items() if current.get(key, 0) < n}
    total, allowed = sum(current.values()), sum(baseline.values())
    if grown:
        for line in errors:
            match = ERROR.match(line)
            if match and (match["path"], match["code"]) in grown:
                print(line)
        print(f"\nmypy: {total} errors; more than the baseline allows in:", file=sys.stderr)
        for (path, code), n in sorted(grown.items()):
            allowed_here = baseline.get((path, code), 0)
            print(f"  {path} [{code}]: {n} (baseline {allowed_here})", file=sys.stderr)
        print("Fix the new errors; the baseline may only shrink.", file=sys.stderr)
        return 1
    if args.update:
        write_baseline(current)
        print(f"mypy: baseline rewritten, {allowed} -> {total} errors")
        return 0
    if shrunk:
        print(
            f"mypy: {total} errors, fewer than the baseline's {allowed}. Shrink the baseline: "
            "python tools/mypy_baseline.py --update (and commit mypy-baseline.txt)."
        )
    else:
        print(f"mypy: {total} errors, as in the baseline (none new)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
