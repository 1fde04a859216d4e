"""Run `make <stage>` for each stage given, even after a failure, echo their output,
and end with one line per stage and a total. Exit 1 if any stage failed.

Each runner's own summary line is quoted (pytest's "N passed", forge's "N tests passed");
the last line is the plain total "total: N passed, M failed".
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

PYTEST = re.compile(r"^=*\s*(?P<body>(\d+ (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)(, )?)+) in [\d.]+s")
FORGE = re.compile(r"(?P<passed>\d+) tests passed, (?P<failed>\d+) failed, (?P<skipped>\d+) skipped")
# one check each: slither's findings line, and export_abi.py --check's verdict
SLITHER = re.compile(r"analyzed \(\d+ contracts with \d+ detectors\), (?P<found>\d+) result\(s\) found")
BROWSER = re.compile(r"^browser: (?P<passed>\d+) checks passed(?:, (?P<failed>\d+) failed)?$")
ABI = re.compile(r"^interfaces/_abi(: \d+ ABIs and the code digests up to date| or \S+ is stale)")
FAULTS = re.compile(r"^\d+ of \d+ fault scenarios survived$")  # tests/python/conftest.py


def counts(output: str) -> tuple[int, int, str]:
    """(passed, failed, summary line) from a stage's output; failed includes errors."""
    passed = failed = 0
    summary = ""
    extra = ""
    for line in output.splitlines():
        line = line.strip()
        if FAULTS.match(line):
            extra = line
            continue
        m = FORGE.search(line)
        if m and line.startswith("Ran "):
            passed += int(m["passed"])
            failed += int(m["failed"])
            summary = line
            continue
        m = BROWSER.match(line)
        if m:
            passed += int(m["passed"])
            failed += int(m["failed"] or 0)
            summary = line
            continue
        m = SLITHER.search(line) or ABI.match(line)
        if m:
            ok = m.re is SLITHER and m["found"] == "0" or m.re is ABI and "up to date" in line
            passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
            summary = line.replace("INFO:Slither:", "slither: ")
            continue
        m = PYTEST.match(line)
        if m:
            body = m["body"]
            for n, what in re.findall(r"(\d+) (passed|failed|errors?)", body):
                if what == "passed":
                    passed += int(n)
                else:
                    failed += int(n)
            summary = line.strip("= ")
    return passed, failed, f"{summary}; {extra}" if summary and extra else summary


def main(stages: list[str]) -> int:
    results = []
    for stage in stages:
        print(f"\n===== make {stage} =====", flush=True)
        started = time.monotonic()
        proc = subprocess.Popen(["make", "--no-print-directory", stage], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            lines.append(line)
        code = proc.wait()
        passed, failed, summary = counts("".join(lines))
        ok = code == 0 and failed == 0 and passed > 0
        results.append((stage, ok, passed, failed, summary or f"(no summary line; exit {code})", time.monotonic() - started))
    print("\n===== summary =====")
    for stage, ok, passed, failed, summary, secs in results:
        print(f"{'ok  ' if ok else 'FAIL'} {stage:<16} {secs:6.1f}s  {summary}")
    total_passed = sum(r[2] for r in results)
    total_failed = sum(r[3] for r in results) + sum(1 for r in results if not r[1] and r[3] == 0)
    print(f"total: {total_passed} passed, {total_failed} failed")
    return 0 if all(r[1] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
