#!/usr/bin/env python3
"""Run the oracle and our CLI on every manifest of a case folder and compare.

    run_diff.py CASES_DIR OUT_DIR --cli PATH/TO/paravisor [--expected EXPECTED.json]

(--expected defaults to expected.json beside this script.)

For each CASES_DIR/NAME.json:
  * oracle.py writes OUT_DIR/oracle/NAME.summary.json (or NAME.usage);
  * `paravisor summary NAME.json -o OUT_DIR/ours/NAME.summary.json` runs our
    loader (exit 0 ok, 2 load failed with a summary, 1 usage error).
Comparison (compare.py semantics, oracle = golden): oracle ok:false needs
ours ok:false; oracle ok:true needs equality as parsed JSON; an oracle usage
error needs our exit status 1. Cases listed in --expected (README.md,
"Expected differences") may differ in the documented direction only.

Prints one line per mismatch and "N passed, N failed" at the end; exit 1 on
any mismatch.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import oracle  # noqa: E402
import compare  # noqa: E402


def main(argv):
    args = argv[1:]
    if len(args) < 4 or args[2] != "--cli":
        print(__doc__, file=sys.stderr)
        return 2
    cases, out, cli = args[0], args[1], args[3]
    exp_path = os.path.join(HERE, "expected.json")
    if len(args) == 6 and args[4] == "--expected":
        exp_path = args[5]
    with open(exp_path) as f:
        expected = json.load(f)
    od, cd = os.path.join(out, "oracle"), os.path.join(out, "ours")
    os.makedirs(od, exist_ok=True)
    os.makedirs(cd, exist_ok=True)
    passed = failed = 0
    for n in sorted(os.listdir(cases)):
        if not n.endswith(".json"):
            continue
        name = n[:-5]
        path = os.path.join(cases, n)
        try:
            want = oracle.summarize(path)
        except oracle.UsageError as e:
            want = ("usage", str(e))
        outp = os.path.join(cd, name + ".summary.json")
        if os.path.exists(outp):
            os.remove(outp)
        r = subprocess.run([cli, "summary", path, "-o", outp], capture_output=True, text=True)
        lines = []
        if isinstance(want, tuple):
            if r.returncode != 1:
                lines.append(f"oracle: usage error ({want[1]}); ours exit {r.returncode}")
        else:
            oracle.write(want, os.path.join(od, name + ".summary.json"))
            if r.returncode == 1 or not os.path.exists(outp):
                lines.append(f"ours: usage error / no summary (exit {r.returncode}): "
                             f"{r.stderr.strip()[:300]}")
            else:
                with open(outp) as f:
                    got = json.load(f)
                lines = compare.compare(want, got)
                if not lines and got.get("ok") is False and r.returncode != 2:
                    lines.append(f"ours: ok false but exit {r.returncode}")
                if not lines and got.get("ok") is True and r.returncode != 0:
                    lines.append(f"ours: ok true but exit {r.returncode}")
        exp = expected.get(name)
        if exp is not None:
            # documented difference: ours must still refuse the input
            # (ok:false with a typed error, or a usage error), and must differ
            got_ok = None
            if os.path.exists(outp):
                with open(outp) as f:
                    got_ok = json.load(f).get("ok")
            if not lines:
                lines = [f"listed in expected.json but equal ({exp})"]
            elif got_ok is True:
                lines.insert(0, "listed in expected.json but ours accepted the input")
            else:
                lines = []
        if lines:
            failed += 1
            print(f"FAIL {name}")
            compare.print_diff(lines, "    ")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
