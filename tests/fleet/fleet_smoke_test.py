#!/usr/bin/env python3
"""Smoke runs of the fleet benchmarks (bench/fleet/): each harness still boots
its VMs, talks to the real servers and prints lines whose figures make sense.
Not a measurement: the numbers are checked for plausibility only.

  fleet_smoke_test.py exit_cost|ephemeral|run BUILD_DIR
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", "..", "bench", "fleet")

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


def run(harness, build, args):
    cmd = [sys.executable, os.path.join(BENCH, harness), "--build", build] + args
    print("running:", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=170)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        sys.exit(f"{harness} failed with exit code {p.returncode}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def exit_cost(build):
    lines = run("exit_cost", build, ["--pairs", "1", "--seconds", "4", "--prometheus-cpp"])
    runs, summary = lines[:-1], lines[-1]
    check(sorted(r["metrics"] for r in runs) == ["off", "on", "prometheus-cpp"], "one run per mode")
    for r in runs:
        check(r["exits"] > 100, f"{r['metrics']}: the guest exits ({r['exits']})")
        check(0 < r["exit_median_ns"] <= r["exit_p99_ns"], f"{r['metrics']}: median <= p99")
        check(r["work_units_per_s"] > 10, f"{r['metrics']}: the guest made progress")
    check(summary["exit_median_ratio"] is not None and summary["exit_median_ratio"] > 0, "a median ratio")
    check(0.5 < summary["progress_ratio"] < 2, f"progress ratio {summary['progress_ratio']}")


def ephemeral(build):
    seconds, scrape = 10, 5
    lines = run("ephemeral", build, ["--seconds", str(seconds), "--scrape", f"{scrape}s", "--runs", "2"])
    runs = [l for l in lines if "run" in l]
    summaries = {l["vm"]: l for l in lines if "run" not in l}
    check(len(runs) == 4, "two runs of two VMs")
    check(set(summaries) == {"micro", "fc"}, "a summary per VM kind")
    for r in runs:
        # One point per second the VM lived (its first and last second may be partial).
        check(r["embedded_points"] >= seconds - 2, f"{r['vm']} run {r['run']}: {r['embedded_points']} points kept")
        check(r["embedded_points"] <= r["lived_s"] + 3, f"{r['vm']} run {r['run']}: no more points than seconds")
        # A scrape every 5 s over ~10 s of life: 1 to 3 samples.
        check(1 <= r["scraped_points"] <= seconds // scrape + 1,
              f"{r['vm']} run {r['run']}: {r['scraped_points']} samples scraped")
        check(r["series_compared"] >= 1, f"{r['vm']} run {r['run']}: series in both")
    for s in summaries.values():
        check(s["embedded_points"] > s["scraped_points_max"], f"{s['vm']}: the store keeps more than the scrape")


def fleet_run(build):
    lines = run("run", build, ["--vms", "3", "--seconds", "10", "--warmup", "7", "--scrape", "5",
                               "--idle-seconds", "2"])
    embedded, conventional, summary = lines
    check(embedded["vms_seen_by_agent"] == 3, "the agent sees every VM's store")
    check(conventional["targets_up"] == conventional["targets"], "Prometheus scrapes every target")
    check(conventional["series"] and conventional["series"] > 3 * 20, "Prometheus holds every VM's series")
    for stack in (embedded, conventional):
        check(stack["exits"] > 0, f"{stack['stack']}: the guests ran")
        check(stack["rss_bytes"] > 0, f"{stack['stack']}: RSS counted")
        check(all(p["cpu_s"] >= 0 for p in stack["parts"].values()), f"{stack['stack']}: CPU counted")
    check(summary["vms"] == 3 and summary["cpu_ratio"] is not None and summary["rss_ratio"] is not None,
          "the summary line")


if __name__ == "__main__":
    harness, build = sys.argv[1], sys.argv[2]
    {"exit_cost": exit_cost, "ephemeral": ephemeral, "run": fleet_run}[harness](build)
    if failures:
        sys.exit("FAILED:\n  " + "\n  ".join(failures))
    print("ok")
