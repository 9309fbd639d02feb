# What the fleet harnesses (exit_cost, ephemeral, run) share: finding the
# binaries, free ports, child processes, a real Prometheus on 127.0.0.1, and
# counting a process's cost from outside it (/proc), the same way for every
# process measured. Python 3 standard library only.
import atexit
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HZ = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def die(message):
    print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr)
    sys.exit(1)


def require_kvm():
    # The harnesses boot real VMs: without /dev/kvm they cannot measure
    # anything, and say so instead of printing numbers.
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        die("no usable /dev/kvm: the VMs cannot run here, nothing was measured")


def binary(build, relative):
    path = os.path.join(build, relative)
    if not os.access(path, os.X_OK):
        die(f"{path} is not built (cmake --build {build} --target {os.path.basename(relative)})")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def work_dir(prefix):
    return tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("TMPDIR", "/tmp"))


def percentile(values, q):
    """The q-quantile (0..1) by the nearest-rank rule; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values):
    return statistics.median(values) if values else None


_children = []


@atexit.register
def _stop_children():
    # A harness that dies (fl.die, an exception) leaves nothing running.
    for child in reversed(_children):
        child.stop(timeout=5)


class Child:
    """A child process with its output in files; stopped with SIGTERM, then SIGKILL.
    Every child still running when the harness exits is stopped."""

    def __init__(self, args, log_path, stdout_path=None, env=None):
        self.args = args
        self.log_path = log_path
        out = open(stdout_path or log_path, "ab")
        err = open(log_path, "ab") if stdout_path else subprocess.STDOUT
        self.process = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        self.pid = self.process.pid
        _children.append(self)

    def alive(self):
        return self.process.poll() is None

    def wait(self, timeout):
        return self.process.wait(timeout=timeout)

    def stop(self, timeout=10):
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def wait_until(predicate, timeout, what, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (OSError, ValueError):
            pass
        time.sleep(step)
    die(f"timed out after {timeout} s waiting for {what}")


def serving(url):
    def check():
        http_get(url, timeout=1)
        return True

    return check


# ---- a real Prometheus -------------------------------------------------------

class Prometheus:
    """/usr/bin/prometheus on 127.0.0.1 with the given scrape jobs
    ([(job, interval_s, [targets])]) and, if asked, the remote-write receiver."""

    def __init__(self, directory, jobs, receiver=False, extra_args=()):
        self.dir = directory
        self.port = free_port()
        config = os.path.join(directory, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  evaluation_interval: 15s\nscrape_configs:\n")
            for job, interval, targets in jobs:
                interval = int(interval)  # Prometheus takes whole seconds here ("15s", not "15.0s")
                f.write(f"  - job_name: {job}\n    scrape_interval: {interval}s\n"
                        f"    scrape_timeout: {min(interval, 10)}s\n    static_configs:\n"
                        f"      - targets: [{', '.join(repr(t) for t in targets)}]\n")
        args = ["/usr/bin/prometheus", f"--config.file={config}",
                f"--storage.tsdb.path={os.path.join(directory, 'data')}",
                f"--web.listen-address=127.0.0.1:{self.port}"]
        if receiver:
            args.append("--web.enable-remote-write-receiver")
        args.extend(extra_args)
        self.child = Child(args, os.path.join(directory, "prometheus.log"))
        self.url = f"http://127.0.0.1:{self.port}"
        def ready():
            if not self.child.alive():
                die(f"Prometheus exited:\n{self.child.log()[-2000:]}")
            return serving(self.url + "/-/ready")()

        wait_until(ready, 60, "Prometheus to be ready")

    def query(self, expr, at=None):
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        body = http_get(self.url + "/api/v1/query?" + urllib.parse.urlencode(params), timeout=30)
        answer = json.loads(body)
        if answer.get("status") != "success":
            die(f"Prometheus query {expr!r} failed: {answer}")
        return answer["data"]["result"]

    def stop(self):
        return self.child.stop()


# ---- cost from outside: /proc -------------------------------------------------

def read_stat(path):
    """utime + stime in seconds from a /proc/<pid>[/task/<tid>]/stat file."""
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # fields 14 and 15 of stat(5)


def process_cpu_s(pid):
    return read_stat(f"/proc/{pid}/stat")


def threads(pid):
    """{tid: name} of a process."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                out[int(tid)] = f.read().strip()
        except OSError:
            pass
    return out


def thread_cpu_s(pid, tid):
    return read_stat(f"/proc/{pid}/task/{tid}/stat")


def thread_wait_s(pid, tid):
    """Time a thread spent runnable, waiting for a CPU (/proc/.../schedstat field 2)."""
    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
        return int(f.read().split()[1]) / 1e9


def rss_bytes(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def io_field(pid, field):
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def write_bytes(pid):
    """Bytes this process caused to be written to storage (/proc/<pid>/io)."""
    return io_field(pid, "write_bytes")


def read_chars(pid):
    """Bytes this process read through read()-like calls, sockets included (rchar)."""
    return io_field(pid, "rchar")


def loopback_tx_bytes():
    with open("/sys/class/net/lo/statistics/tx_bytes") as f:
        return int(f.read())


def load_average():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def host_cpu_busy_s():
    """(busy, total) CPU seconds of the whole host from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return (total - idle) / HZ, total / HZ


def cleanup(directory):
    if os.environ.get("FLEET_KEEP") != "1":
        shutil.rmtree(directory, ignore_errors=True)
