"""How long tccbs and tccli take, and how much memory, for `--help` and one call.

Usage: speed.py TCCLI TCCBS HOST:PORT CERT_FILE [RUNS]

Each command runs RUNS times (default 20) per tool, alternating; the median wall time
and the largest peak RSS (from GNU time, /usr/bin/time) are printed, with tccli's ÷ tccbs's.
The call is `cbs DescribeSnapshots --Limit 5` against the emulator at HOST:PORT.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time


def measure(argv, env, workdir):
    """Wall seconds and peak RSS in KiB of one run; the run must succeed.

    The peak comes from GNU time, not from this process's wait4: Linux carries the
    forking process's peak (Python's, some 14 MiB) into the child's ru_maxrss across
    exec, while GNU time forks from a process of under 1 MiB.
    """
    report = os.path.join(workdir, "rss")
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report] + argv, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    with open(report) as f:
        return wall, int(f.read().split()[-1])


def main():
    tccli, tccbs, endpoint, cert = sys.argv[1:5]
    runs = int(sys.argv[5]) if len(sys.argv) > 5 else 20
    if not os.access("/usr/bin/time", os.X_OK):
        raise SystemExit("speed.py needs GNU time at /usr/bin/time for peak memory")
    with tempfile.TemporaryDirectory() as workdir:
        with open(os.path.join(workdir, "sitecustomize.py"), "w") as f:
            f.write("import certifi, os\ncertifi.where = lambda: os.environ['COMPAT_CA_FILE']\n")
        env = dict(os.environ, TENCENTCLOUD_REGION="ap-guangzhou")
        tools = {
            "tccli": ([tccli], ["--endpoint", endpoint], dict(env, PYTHONPATH=workdir, COMPAT_CA_FILE=cert)),
            "tccbs": ([tccbs], ["--endpoint", endpoint, "--ca-bundle", cert], env),
        }
        commands = {
            "--help": (["--help"], False),
            "cbs DescribeSnapshots --Limit 5": (["cbs", "DescribeSnapshots", "--Limit", "5"], True),
        }
        print(f"{runs} runs each; median wall time, largest peak RSS")
        print(f"{'command':<34} {'tool':<6} {'wall ms':>9} {'RSS MiB':>8}")
        for name, (args, remote) in commands.items():
            results = {tool: ([], []) for tool in tools}
            for _ in range(runs):
                for tool, (head, options, tool_env) in tools.items():
                    wall, rss = measure(head + args + (options if remote else []), tool_env, workdir)
                    results[tool][0].append(wall)
                    results[tool][1].append(rss)
            summary = {}
            for tool, (walls, rsses) in results.items():
                summary[tool] = (statistics.median(walls) * 1000, max(rsses) / 1024)
                print(f"{name:<34} {tool:<6} {summary[tool][0]:>9.1f} {summary[tool][1]:>8.1f}")
            ratio_wall = summary["tccli"][0] / summary["tccbs"][0]
            ratio_rss = summary["tccli"][1] / summary["tccbs"][1]
            print(f"{name:<34} {'ratio':<6} {ratio_wall:>8.1f}x {ratio_rss:>7.1f}x  (tccli / tccbs)")


if __name__ == "__main__":
    main()
