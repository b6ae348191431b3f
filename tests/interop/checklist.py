"""The interop scripts' way of running checks: each one reported as `ok` or `FAIL`, every
failure reported and the rest still run, and a closing `N passed, M failed`."""


class Checklist:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, fn, *args):
        """Runs `fn(*args)`; returns its result, or None when it raised."""
        try:
            result = fn(*args)
        except Exception as e:  # report every failure, keep going
            print(f"FAIL {name}: {e!r}")
            self.failed += 1
            return None
        print(f"ok   {name}")
        self.passed += 1
        return result

    def cannot(self, name, why):
        """A check that cannot run because an earlier one failed: a failure too."""
        print(f"FAIL {name}: {why}")
        self.failed += 1

    def finish(self):
        """Prints the totals; the exit status (1 when anything failed)."""
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0
