#!/usr/bin/env python3
"""Run the integration tests against a built wharfd and print TAP.

    tests/integration/run.py --wharfd build/wharfd [--quick] [FILTER...]
"""
import argparse
import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wharfd", required=True)
    ap.add_argument("--quick", action="store_true", help="skip slow tests (real clients, crash, bench-like)")
    ap.add_argument("filters", nargs="*", help="run only tests whose module.name contains one of these")
    args = ap.parse_args()
    os.environ["WHARF_TEST_WHARFD"] = os.path.abspath(args.wharfd)
    bindir = os.path.dirname(os.path.abspath(args.wharfd))
    os.environ["WHARF_TEST_BIN"] = bindir
    for name in sorted(os.listdir(HERE)):
        if name.startswith("test_") and name.endswith(".py"):
            importlib.import_module(name[:-3])
    passed, failed = harness.run_tests(os.path.abspath(args.wharfd), args.filters, args.quick)
    print(f"# integration: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
