"""Runs the same command lines through tccli and tccbs against one emulator over TLS.

Usage: tccli_compat.py TCCLI TCCBS HOST:PORT CERT_FILE

For each line, both tools must succeed (or both fail), print the same JSON document
(compared parsed, request ids aside: key order follows each tool's copy of the model)
and, for `--output text`, the same lines. Mutating lines run once through each tool;
their answers must have the same shape, and what they created must then read the same.
Prints one line per check and `N passed, M failed`; exits 1 on any failure.

tccli trusts only certifi's bundle, so this script starts it with a `sitecustomize`
that points certifi at CERT_FILE: nothing in the Python environment is modified.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

# Disks of the same size, one per tool, for lines that name `{disk}`.
DISK = {"tccli": "disk-demo0001", "tccbs": "disk-demo0002"}

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Read-only lines: exactly the same answer from both tools.
READS = [
    ["DescribeSnapshots", "--Limit", "5"],
    ["DescribeSnapshots", "--SnapshotIds", '["snap-demo0001", "snap-demo0002"]'],
    ["DescribeSnapshots", "--Filters", '[{"Name": "disk-id", "Values": ["disk-demo0002"]}]'],
    ["DescribeSnapshots", "--cli-unfold-argument", "--Filters.0.Name", "snapshot-state",
     "--Filters.0.Values", "NORMAL", "--Limit", "3", "--Offset", "1"],
    ["DescribeSnapshots", "--SnapshotIds", '["snap-nothing1"]'],
    ["DescribeSnapshots", "--Limit", "4", "--output", "text"],
    ["DescribeSnapshots", "--filter", "SnapshotSet[].SnapshotId"],
    ["DescribeSnapshots", "--filter", "SnapshotSet[?DiskSize > `50`].{id: SnapshotId, size: DiskSize}"],
    ["DescribeDisks", "--Limit", "3", "--Offset", "1", "--OrderField", "CREATE_TIME", "--Order", "ASC"],
    ["DescribeDisks", "--DiskIds", '["disk-demo0001"]', "--output", "text"],
    ["DescribeDisks", "--cli-unfold-argument", "--Filters.0.Name", "disk-usage",
     "--Filters.0.Values", "DATA_DISK", "--filter", "TotalCount"],
    ["DescribeDiskConfigQuota", "--InquiryType", "INQUIRY_CBS_CONFIG", "--Zones", '["ap-guangzhou-1"]',
     "--DiskChargeType", "POSTPAID_BY_HOUR"],
    ["DescribeAutoSnapshotPolicies", "--output", "text"],
    ["DescribeInstancesDiskNum", "--InstanceIds", '["ins-guan0001", "ins-guan0002"]'],
    ["InquiryPriceCreateDisks", "--DiskType", "CLOUD_PREMIUM", "--DiskSize", "100",
     "--DiskChargeType", "POSTPAID_BY_HOUR", "--DiskCount", "2"],
    ["DescribeSnapshotSharePermission", "--SnapshotId", "snap-demo0001"],
    ["DescribeSnapshotOverview"],
    ["DescribeDiskStoragePool"],
    ["DescribeSnapshots", "--cli-input-json", "file://{input}"],
    ["DescribeSnapshots", "--waiter", '{"expr": "SnapshotSet[0].SnapshotState", "to": "NORMAL", "timeout": 20, "interval": 1}',
     "--SnapshotIds", '["snap-demo0001"]'],
    # Refused by the service: both fail, naming the same error code.
    ["DeleteSnapshots", "--SnapshotIds", '["snap-nothing1"]'],
    ["AttachDisks", "--DiskIds", '["disk-nothing1"]', "--InstanceId", "ins-guan0001"],
]

INPUT_JSON = {"SnapshotIds": ["snap-demo0002"], "Limit": 1}

# Mutating lines, and a read of what they made (`{created}`).
WRITES = [
    # A disk takes one snapshot at a time: each tool snapshots its own (`{disk}`).
    (["CreateSnapshot", "--DiskId", "{disk}", "--SnapshotName", "compat"], "SnapshotId",
     ["DescribeSnapshots", "--SnapshotIds", '["{created}"]', "--filter",
      "SnapshotSet[0].{SnapshotName: SnapshotName, DiskSize: DiskSize, Placement: Placement}"]),
    (["CreateAutoSnapshotPolicy", "--Policy", '[{"DayOfWeek": [1, 3], "Hour": [2]}]',
      "--AutoSnapshotPolicyName", "compat", "--RetentionDays", "7"], "AutoSnapshotPolicyId",
     ["DescribeAutoSnapshotPolicies", "--AutoSnapshotPolicyIds", '["{created}"]', "--filter",
      "AutoSnapshotPolicySet[0].{Name: AutoSnapshotPolicyName, Policy: Policy, RetentionDays: RetentionDays}"]),
]


def normalized(text):
    """A JSON document with request ids removed; None if the text is not JSON."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, dict):
        value.pop("RequestId", None)
    return value


def shape(value):
    """The keys and types of a document, values aside."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


def error_code(stderr):
    """The service's error code as either tool prints it."""
    found = re.search(r"code:([A-Za-z.]+)", stderr) or re.search(r": ([A-Z][A-Za-z]+\.[A-Za-z.]+):", stderr)
    return found.group(1) if found else None


class Compare:
    def __init__(self, tccli, tccbs, endpoint, cert, workdir):
        self.endpoint = endpoint
        self.cert = cert
        self.workdir = workdir
        self.passed = 0
        self.failed = 0
        shim = os.path.join(workdir, "shim")
        os.makedirs(shim, exist_ok=True)
        with open(os.path.join(shim, "sitecustomize.py"), "w") as f:
            f.write("import certifi, os\ncertifi.where = lambda: os.environ['COMPAT_CA_FILE']\n")
        base = dict(os.environ, TENCENTCLOUD_REGION="ap-guangzhou")
        base.pop("TENCENTCLOUD_PROFILE", None)
        self.tools = {
            "tccli": ([tccli, "cbs"], ["--region", "ap-guangzhou", "--endpoint", endpoint],
                      dict(base, PYTHONPATH=shim, COMPAT_CA_FILE=cert)),
            "tccbs": ([tccbs, "cbs"], ["--region", "ap-guangzhou", "--endpoint", endpoint, "--ca-bundle", cert],
                      base),
        }
        self.input_file = os.path.join(workdir, "input.json")
        with open(self.input_file, "w") as f:
            json.dump(INPUT_JSON, f)

    def run(self, tool, line):
        head, options, env = self.tools[tool]
        line = [arg.replace("{input}", self.input_file).replace("{disk}", DISK[tool]) for arg in line]
        done = subprocess.run(head + line + options, capture_output=True, text=True, env=env, timeout=60)
        return done.returncode, done.stdout, done.stderr

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok    {name}")
        else:
            self.failed += 1
            print(f"FAIL  {name}\n{detail}")

    def read(self, line):
        name = " ".join(line)
        (a_rc, a_out, a_err), (b_rc, b_out, b_err) = self.run("tccli", line), self.run("tccbs", line)
        if a_rc != 0 or b_rc != 0:
            same = (a_rc != 0) == (b_rc != 0) and error_code(a_err) == error_code(b_err) is not None
            self.check(name, same, f"tccli {a_rc}: {a_err}\ntccbs {b_rc}: {b_err}")
            return
        if "text" in line:
            ours, theirs = UUID.sub("ID", b_out), UUID.sub("ID", a_out)
            self.check(name, ours == theirs, f"tccli:\n{theirs}\ntccbs:\n{ours}")
            return
        theirs, ours = normalized(a_out), normalized(b_out)
        self.check(name, theirs is not None and theirs == ours, f"tccli:\n{a_out}\ntccbs:\n{b_out}")

    def write(self, line, created_key, follow):
        name = " ".join(line)
        answers = {}
        for tool in ("tccli", "tccbs"):
            rc, out, err = self.run(tool, line)
            answers[tool] = (rc, normalized(out), err)
        (a_rc, a, a_err), (b_rc, b, b_err) = answers["tccli"], answers["tccbs"]
        ok = a_rc == 0 and b_rc == 0 and a is not None and b is not None and shape(a) == shape(b)
        self.check(name, ok, f"tccli {a_rc}: {a} {a_err}\ntccbs {b_rc}: {b} {b_err}")
        if not ok:
            return
        # Each tool reads back what the other made: the two resources must look alike.
        reads = []
        for tool, made in (("tccli", b), ("tccbs", a)):
            rc, out, err = self.run(tool, [arg.replace("{created}", made[created_key]) for arg in follow])
            reads.append((rc, normalized(out), err))
        self.check(f"  then {follow[0]} of what each made", reads[0][0] == 0 and reads[0][1] == reads[1][1]
                   and reads[0][1] is not None, f"{reads}")


def main():
    tccli, tccbs, endpoint, cert = sys.argv[1:5]
    with tempfile.TemporaryDirectory() as workdir:
        compare = Compare(tccli, tccbs, endpoint, cert, workdir)
        for line in READS:
            compare.read(line)
        for line, created_key, follow in WRITES:
            compare.write(line, created_key, follow)
    print(f"{compare.passed} passed, {compare.failed} failed")
    sys.exit(1 if compare.failed else 0)


if __name__ == "__main__":
    main()
