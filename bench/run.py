#!/usr/bin/env python3
"""jobgate's benchmark harness.

Builds the release binary, generates simulator scenarios (fixed seed) in a
temporary directory and, per scenario, runs every waiter side by side, each
against its own fresh `jobgate simulate` process so the request counters
belong to one waiter. Writes docs/bench/results.md, docs/bench/results.json
and docs/bench/latency-vs-requests.svg.

Usage: python3 bench/run.py [--venv target/sdk-venv] [--out docs/bench]
                            [--seed 42] [--only SCENARIO,...]

Needs Python 3 (stdlib only), cargo, /usr/bin/time, curl and jq, and a venv
with the official SDK (`pip install -r tests/sdk/requirements.txt`) for the
SDK waiters; without that venv the SDK waiters are skipped.
"""

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = "0123456789abcdef0123456789abcdef"
AK = "BENCHAK0000000000000"
SK = "bench-secret-key-0000000000000000000000"
TOKEN = "bench-token"
TIME = "/usr/bin/time"


# --------------------------------------------------------------- scenarios --


def ms(seconds):
    return f"{int(round(seconds * 1000))}ms"


def image_job(rng, job_id, end, failed):
    return {
        "id": job_id,
        "kind": "image_job",
        "timeline": [
            {"at": "0s", "status": "WAITING"},
            {"at": "2s", "status": "RUNNING"},
            {"at": ms(end), "status": "FAILED" if failed else "SUCCESS"},
        ],
    }


def past_jobs(low, high):
    """The project's history: 20 earlier image jobs of the same type that took
    as long as this scenario's jobs, which jobgate reads to place its polls."""
    return [{"job_type": "CREATE_SERVER_IMAGE", "count": 20,
             "took": {"min": f"{low}s", "max": f"{high}s"}}]


def spec(waits, **extra):
    doc = {
        "version": 1,
        "defaults": {"project_id": "${HUAWEICLOUD_SDK_PROJECT_ID}", "timeout": "5m"},
        "waits": waits,
    }
    doc.update(extra)
    return doc


def image_wait(job_id):
    return {"image_job": job_id, "pending": ["WAITING", "RUNNING"], "target": ["SUCCESS"]}


def desktop_list_wait(job_id):
    # Fails only once every desktop is final and one failed, so its exit time
    # is comparable with waiters that poll the parent job's status.
    return {
        "desktop_sub_jobs": {"job_id": job_id},
        "success": {"all": ["SUCCESS"]},
        "failure": {"all_of": [{"none": ["WAITING", "RUNNING"]}, {"any": ["FAILED", "ABNORMAL"]}]},
    }


def desktop_job_wait(job_id):
    # The same conditions on the job detail, whose answer carries every
    # sub-job: one request per poll, as the SDK and curl loops make.
    wait = desktop_list_wait(job_id)
    del wait["desktop_sub_jobs"]
    return {"desktop_job": job_id, **wait}


def scenarios(seed):
    rng = random.Random(seed)
    out = []

    # One image job finishing at a random time in 20-40 s.
    job = str(700000000000000000 + rng.randrange(10**17))
    out.append({
        "name": "single-image",
        "title": "1 image job (ends 20-40 s)",
        "scenario": {"project_id": PROJECT, "seed": seed,
                     "jobs": [image_job(rng, job, rng.uniform(20, 40), False)],
                     "past_image_jobs": past_jobs(20, 40)},
        "spec": spec({"image": image_wait(job)}),
        "kind": "image", "jobs": [job],
        "waiters": "all",
    })

    # One app-server job (servers being created) finishing in 20-40 s; the
    # project's history is of past servers, the only app-server history.
    # Its own generator, so the other scenarios stay those of earlier runs.
    app_rng = random.Random(seed + 1)
    job = "8e3a9c1d-2b4f-4a6e-8c0d-" + f"{app_rng.randrange(16**12):012x}"
    app_job = image_job(app_rng, job, app_rng.uniform(20, 40), False)
    app_job.update(kind="app_server_job", job_type="CREATE_SERVER")
    out.append({
        "name": "single-app-server",
        "title": "1 app-server job (ends 20-40 s)",
        "scenario": {"project_id": PROJECT, "seed": seed, "jobs": [app_job],
                     "past_app_server_sub_jobs": [{"job_type": "CREATE_SERVER", "count": 20,
                                                   "took": {"min": "20s", "max": "40s"}}]},
        "spec": spec({"servers": {"app_server_job": job, "pending": ["WAITING", "RUNNING"],
                                  "target": ["SUCCESS"]}}),
        "kind": "app", "jobs": [job],
        "waiters": "all",
    })

    # 50 waits at once: 50 image jobs ending in 10-40 s, about 10% failing.
    jobs, defs = [], []
    for i in range(50):
        job = str(710000000000000000 + i * 1000 + rng.randrange(1000))
        jobs.append(job)
        defs.append(image_job(rng, job, rng.uniform(10, 40), rng.random() < 0.1))
    out.append({
        "name": "fifty-waits",
        "title": "50 image jobs at once (end 10-40 s, ~10% fail)",
        "scenario": {"project_id": PROJECT, "seed": seed, "jobs": defs,
                     "past_image_jobs": past_jobs(10, 40)},
        # Every waiter waits for all 50, so no fail-fast.
        "spec": spec({f"image-{i:02}": image_wait(j) for i, j in enumerate(jobs)}, fail_fast=False),
        "kind": "image", "jobs": jobs,
        "waiters": "all",
    })

    # A fleet of desktops under one job, with generated progress.
    for count, failure in ((1000, 0.02), (10000, 0.0)):
        job = f"5b1d9e27-4c3a-4f8b-9e6d-{count:012d}"
        out.append({
            "name": f"fleet-{count}",
            "title": f"{count:,} desktop sub-jobs under one job (10-40 s each, {failure:.0%} fail)",
            "scenario": {"project_id": PROJECT, "seed": seed, "fleets": [{
                "job_id": job, "kind": "desktop_job", "count": count,
                "duration": {"min": "10s", "max": "40s"},
                "failure_rate": failure, "start": "1s"}]},
            "spec": spec({"desktops": desktop_list_wait(job)}),
            "spec_detail": spec({"desktops": desktop_job_wait(job)}),
            "kind": "desktop", "jobs": [job],
            "waiters": "all",
        })

    # 1,000 concurrent waits in one jobgate process (footprint while waiting).
    jobs, defs = [], []
    for i in range(1000):
        job = str(720000000000000000 + i)
        jobs.append(job)
        defs.append(image_job(rng, job, rng.uniform(10, 20), False))
    # This one measures the footprint while waiting, not latency: jobs end
    # early, the delay is capped at 10 s and the client-wide request rate
    # (10/s by default, 100 s per round of 1,000 polls) is raised to 200/s
    # so the scenario stays short.
    concurrent = spec({f"image-{i:04}": image_wait(j) for i, j in enumerate(jobs)})
    concurrent["defaults"]["poll"] = {"max": "10s"}
    out.append({
        "name": "concurrent-1000",
        "title": "1,000 concurrent image-job waits (end 10-20 s; poll max 10 s, --max-rps 200)",
        "scenario": {"project_id": PROJECT, "seed": seed, "jobs": defs,
                     "past_image_jobs": past_jobs(10, 20)},
        "spec": concurrent,
        "kind": "image", "jobs": jobs,
        "waiters": ["jobgate default"],
        "jobgate_args": ["--max-rps", "200"],
    })
    return out


# ----------------------------------------------------------------- waiters --


def waiters(venv_python):
    def jobgate(name, poll):
        return {"name": name, "type": "jobgate", "poll": poll, "auth": "aksk"}

    out = [
        jobgate("jobgate default", None),
        # Fleet scenarios only: the job detail instead of the paged list.
        {**jobgate("jobgate job detail", None), "spec": "spec_detail"},
        jobgate("jobgate adaptive off", {"adaptive": False}),
        jobgate("jobgate fixed 5 s", {"initial": "5s", "max": "5s", "factor": 1, "jitter": "none"}),
    ]
    if venv_python:
        out.append({"name": "SDK loop 5 s", "type": "sdk", "interval": 5, "auth": "aksk"})
        out.append({"name": "SDK loop 15 s", "type": "sdk", "interval": 15, "auth": "aksk"})
    out.append({"name": "curl loop 5 s", "type": "curl", "interval": 5, "auth": "token"})
    return out


class Simulator:
    def __init__(self, binary, scenario_file, seed, auth):
        cmd = [binary, "simulate", "--scenario", scenario_file, "--port", "0", "--seed", str(seed)]
        if auth == "aksk":
            cmd += ["--access-key", AK, "--secret-key", SK]
        else:
            cmd += ["--token", TOKEN]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        # The simulator's clock starts just before it prints this line.
        self.started = time.time()
        prefix = "jobgate simulator listening on "
        if not line.startswith(prefix):
            self.proc.kill()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.url = line[len(prefix):].strip()
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def stats(self):
        with urllib.request.urlopen(self.url + "/_sim/stats", timeout=30) as answer:
            return json.load(answer)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_waiter(binary, venv_python, tmp, case, waiter, seed, results):
    tag = f"{case['name']}--{waiter['name'].replace(' ', '-')}"
    sim = Simulator(binary, case["scenario_file"], seed, waiter["auth"])
    env = dict(os.environ, HUAWEICLOUD_SDK_AK=AK, HUAWEICLOUD_SDK_SK=SK,
               HUAWEICLOUD_SDK_PROJECT_ID=PROJECT)
    report = os.path.join(tmp, tag + ".report.json")
    if waiter["type"] == "jobgate":
        doc = json.loads(json.dumps(case[waiter.get("spec", "spec")]))
        if waiter["poll"]:
            doc["defaults"]["poll"] = {**doc["defaults"].get("poll", {}), **waiter["poll"]}
        spec_file = os.path.join(tmp, tag + ".spec.yaml")
        with open(spec_file, "w") as f:
            json.dump(doc, f, indent=1)  # JSON is YAML
        cmd = [binary, "run", spec_file, "--endpoint", sim.url, "--report", report, "--quiet",
               *case.get("jobgate_args", [])]
    elif waiter["type"] == "sdk":
        cmd = [venv_python, os.path.join(ROOT, "bench", "sdk_waiter.py"), "--endpoint", sim.url,
               "--project-id", PROJECT, "--ak", AK, "--sk", SK, "--interval", str(waiter["interval"]),
               "--kind", case["kind"], *case["jobs"]]
    else:
        cmd = ["bash", os.path.join(ROOT, "bench", "curl_waiter.sh"), sim.url, PROJECT, TOKEN,
               str(waiter["interval"]), case["kind"], *case["jobs"]]
    usage = os.path.join(tmp, tag + ".time")
    out = subprocess.run([TIME, "-f", "%e %U %S %M", "-o", usage, *cmd], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    exited = time.time()
    stats = sim.stats()
    sim.stop()
    wall, user, system, rss_kb = open(usage).read().split()[-4:]
    truth = {j["id"]: j for j in stats["jobs"]}
    ends = {j: sim.started + truth[j]["terminal_after_ms"] / 1000 for j in case["jobs"]}
    expected = 0 if all(truth[j]["terminal_status"] == "SUCCESS" for j in case["jobs"]) else 1

    # Per-job detection times: from jobgate's report, or the scripts' DONE lines.
    detected = {}
    polls = None
    if waiter["type"] == "jobgate":
        try:
            rep = json.load(open(report))
            names = list(case["spec"]["waits"])
            # Waits without `after:` start with the run: a wait ends at the
            # run's start plus its elapsed time.
            run_start = parse_time(rep["started_at"])
            for wait in rep["waits"]:
                if wait["name"] in names and wait.get("elapsed_ms") is not None:
                    spec_wait = doc["waits"][wait["name"]]
                    job = (spec_wait.get("image_job") or spec_wait.get("app_server_job")
                           or case["jobs"][0])
                    detected[job] = run_start + wait["elapsed_ms"] / 1000
            polls = sum(w.get("polls", 0) for w in rep["waits"])
        except (OSError, ValueError, KeyError):
            pass
    else:
        for line in out.stdout.splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0] == "DONE":
                detected[parts[1]] = float(parts[3])
    latencies = [detected[j] - ends[j] for j in case["jobs"] if j in detected]
    cpu = float(user) + float(system)
    results.append({
        "scenario": case["name"], "waiter": waiter["name"],
        "requests": stats["requests"],
        "endpoints": {k: v["requests"] for k, v in stats["endpoints"].items()},
        "exit_code": out.returncode, "expected_exit_code": expected,
        "correct": out.returncode == expected,
        "exit_latency_s": exited - max(ends.values()),
        "median_latency_s": statistics.median(latencies) if latencies else None,
        "max_latency_s": max(latencies) if latencies else None,
        "jobs_detected": len(latencies), "jobs": len(case["jobs"]),
        "wall_s": float(wall), "cpu_s": cpu,
        "cpu_share_of_core": cpu / float(wall) if float(wall) > 0 else None,
        "peak_rss_mb": int(rss_kb) / 1024, "polls": polls,
        "stderr_tail": out.stderr.strip().splitlines()[-3:] if out.returncode != expected else [],
    })


# ------------------------------------------------------------ micro timings --


def median_wall(cmd, env, runs=20):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ------------------------------------------------------------------ output --

COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]
MARKERS = ["circle", "square", "diamond", "triangle", "cross"]


def svg_plot(results, path):
    """Median detection latency against requests (log scale), hand-written SVG."""
    import math

    points = [r for r in results if r["median_latency_s"] is not None and r["requests"] > 0]
    waiter_names = list(dict.fromkeys(r["waiter"] for r in points))
    scenario_names = list(dict.fromkeys(r["scenario"] for r in points))
    w, h, left, right, top, bottom = 820, 480, 70, 230, 30, 60
    lo = math.floor(math.log10(min(r["requests"] for r in points)))
    hi = math.ceil(math.log10(max(r["requests"] for r in points)))
    hi = max(hi, lo + 1)
    ymax = max(5.0, max(r["median_latency_s"] for r in points))
    ymax = math.ceil(ymax / 5) * 5
    ymin = min(0.0, math.floor(min(r["median_latency_s"] for r in points)))

    def x(v):
        return left + (math.log10(v) - lo) / (hi - lo) * (w - left - right)

    def y(v):
        return top + (ymax - v) / (ymax - ymin) * (h - top - bottom)

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{w}" height="{h}" fill="white"/>']
    for e in range(lo, hi + 1):
        s.append(f'<line x1="{x(10**e):.1f}" y1="{top}" x2="{x(10**e):.1f}" y2="{h-bottom}" stroke="#ddd"/>')
        s.append(f'<text x="{x(10**e):.1f}" y="{h-bottom+16}" text-anchor="middle">{10**e:,}</text>')
    step = 5 if ymax - ymin <= 60 else 10
    v = ymin
    while v <= ymax:
        s.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{w-right}" y2="{y(v):.1f}" stroke="#ddd"/>')
        s.append(f'<text x="{left-6}" y="{y(v)+4:.1f}" text-anchor="end">{v:g}</text>')
        v += step
    s.append(f'<text x="{(left+w-right)/2}" y="{h-15}" text-anchor="middle">'
             'requests sent (simulator counter, log scale)</text>')
    s.append(f'<text transform="translate(18,{(top+h-bottom)/2}) rotate(-90)" text-anchor="middle">'
             'median detection latency (s)</text>')

    def marker(kind, cx, cy, colour):
        if kind == "circle":
            return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{colour}"/>'
        if kind == "square":
            return f'<rect x="{cx-4.5:.1f}" y="{cy-4.5:.1f}" width="9" height="9" fill="{colour}"/>'
        if kind == "diamond":
            return (f'<polygon points="{cx:.1f},{cy-6:.1f} {cx+6:.1f},{cy:.1f} {cx:.1f},{cy+6:.1f} '
                    f'{cx-6:.1f},{cy:.1f}" fill="{colour}"/>')
        if kind == "triangle":
            return (f'<polygon points="{cx:.1f},{cy-6:.1f} {cx+6:.1f},{cy+5:.1f} {cx-6:.1f},{cy+5:.1f}" '
                    f'fill="{colour}"/>')
        return (f'<path d="M{cx-5:.1f},{cy-5:.1f} L{cx+5:.1f},{cy+5:.1f} M{cx-5:.1f},{cy+5:.1f} '
                f'L{cx+5:.1f},{cy-5:.1f}" stroke="{colour}" stroke-width="2.5"/>')

    for r in points:
        colour = COLOURS[waiter_names.index(r["waiter"]) % len(COLOURS)]
        kind = MARKERS[scenario_names.index(r["scenario"]) % len(MARKERS)]
        s.append(marker(kind, x(r["requests"]), y(r["median_latency_s"]), colour))
    ly = top + 5
    for i, name in enumerate(waiter_names):
        s.append(f'<rect x="{w-right+20}" y="{ly+i*18}" width="12" height="12" fill="{COLOURS[i % len(COLOURS)]}"/>')
        s.append(f'<text x="{w-right+38}" y="{ly+i*18+10}">{name}</text>')
    ly += len(waiter_names) * 18 + 15
    for i, name in enumerate(scenario_names):
        s.append(marker(MARKERS[i % len(MARKERS)], w - right + 26, ly + i * 18 + 6, "#444"))
        s.append(f'<text x="{w-right+38}" y="{ly+i*18+10}">{name}</text>')
    s.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(s) + "\n")


def fmt(v, digits=1):
    return "n/a" if v is None else f"{v:.{digits}f}"


def markdown(cases, results, micro, machine):
    lines = ["# Benchmark results", "",
             "Generated by `python3 bench/run.py`; see [BENCHMARKS.md](../BENCHMARKS.md).", ""]
    lines += [f"- {k}: {v}" for k, v in machine.items()]
    lines += ["", "## Per scenario", "",
              "Latency: the waiter's detection time minus the simulator's ground-truth "
              "terminal time of the job (median and maximum over the scenario's jobs), "
              "and the waiter's exit time minus the last job's terminal time. "
              "CPU: user + system of the waiter process and its children. "
              "Verdict: exit code against the ground truth (0 if every job succeeded, else 1).", ""]
    for case in cases:
        rows = [r for r in results if r["scenario"] == case["name"]]
        if not rows:
            continue
        lines += [f"### {case['name']}: {case['title']}", "",
                  "| waiter | requests | median latency (s) | max latency (s) | exit latency (s) "
                  "| CPU (s) | CPU % of a core | peak RSS (MB) | polls | verdict |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for r in rows:
            verdict = "correct" if r["correct"] else f"WRONG (exit {r['exit_code']}, expected {r['expected_exit_code']})"
            lines.append(
                f"| {r['waiter']} | {r['requests']:,} | {fmt(r['median_latency_s'])} | "
                f"{fmt(r['max_latency_s'])} | {fmt(r['exit_latency_s'])} | {fmt(r['cpu_s'], 2)} | "
                f"{fmt(100 * r['cpu_share_of_core'] if r['cpu_share_of_core'] is not None else None, 2)} | "
                f"{fmt(r['peak_rss_mb'])} | {r['polls'] if r['polls'] is not None else ''} | {verdict} |")
        lines.append("")
    lines += ["## jobgate itself", "", "| figure | value |", "|---|---:|"]
    for k, v in micro.items():
        lines.append(f"| {k} | {v} |")
    lines += ["", "![detection latency vs requests](latency-vs-requests.svg)", ""]
    return "\n".join(lines)


def machine_info():
    info = {"nproc": os.cpu_count()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["CPU"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    info["kernel"] = os.uname().release
    info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return info


# -------------------------------------------------------------------- main --


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", default=os.path.join(ROOT, "target", "sdk-venv"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "bench"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--binary", help="use this jobgate binary instead of building the release one")
    args = parser.parse_args()

    if not os.access(TIME, os.X_OK):
        sys.exit(f"{TIME} is missing (apt-get install time)")
    if args.binary:
        binary = os.path.abspath(args.binary)
    else:
        print("building the release binary", flush=True)
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        binary = os.path.join(target, "release", "jobgate")
    venv_python = os.path.join(args.venv, "bin", "python")
    if not os.access(venv_python, os.X_OK):
        print(f"no SDK venv at {args.venv}: SDK waiters skipped", flush=True)
        venv_python = None

    cases = scenarios(args.seed)
    if args.only:
        wanted = args.only.split(",")
        cases = [c for c in cases if c["name"] in wanted]
    all_waiters = waiters(venv_python)
    results = []
    with tempfile.TemporaryDirectory(prefix="jobgate-bench-") as tmp:
        for case in cases:
            case["scenario_file"] = os.path.join(tmp, case["name"] + ".scenario.yaml")
            with open(case["scenario_file"], "w") as f:
                json.dump(case["scenario"], f)
            chosen = [w for w in all_waiters
                      if (case["waiters"] == "all" or w["name"] in case["waiters"])
                      and w.get("spec", "spec") in case]
            print(f"{case['name']}: {len(chosen)} waiters side by side", flush=True)
            start = time.time()
            threads = [threading.Thread(target=run_waiter,
                                        args=(binary, venv_python, tmp, case, w, args.seed, results))
                       for w in chosen]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            # Keep the waiter order stable in the output.
            order = [w["name"] for w in all_waiters]
            results.sort(key=lambda r: ([c["name"] for c in cases].index(r["scenario"]), order.index(r["waiter"])))
            for r in results:
                if r["scenario"] == case["name"]:
                    print(f"  {r['waiter']:22} requests={r['requests']:6} "
                          f"median={fmt(r['median_latency_s'])}s cpu={r['cpu_s']:.2f}s "
                          f"rss={r['peak_rss_mb']:.1f}MB {'ok' if r['correct'] else 'WRONG'} "
                          f"{' '.join(r['stderr_tail'])}", flush=True)
            print(f"  ({time.time() - start:.0f} s)", flush=True)

        env = dict(os.environ, HUAWEICLOUD_SDK_PROJECT_ID=PROJECT)
        micro = {
            "release binary size": f"{os.path.getsize(binary) / 1024 / 1024:.2f} MiB",
            "start-up (`jobgate --version`, median of 20)":
                f"{1000 * median_wall([binary, '--version'], env):.1f} ms",
            "`jobgate validate examples/demo.yaml` (median of 20)":
                f"{1000 * median_wall([binary, 'validate', os.path.join(ROOT, 'examples', 'demo.yaml')], env):.1f} ms",
        }
        for r in results:
            if r["scenario"] == "fleet-10000" and r["waiter"].startswith("jobgate") and r["polls"]:
                what = "job detail" if r["waiter"] == "jobgate job detail" else "listing"
                micro[f"CPU per poll round, 10,000-item {what} ({r['waiter']}: "
                      f"{r['cpu_s']:.2f} s / {r['polls']} polls, start-up included)"] = \
                    f"{1000 * r['cpu_s'] / r['polls']:.1f} ms"

    os.makedirs(args.out, exist_ok=True)
    machine = machine_info()
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"machine": machine, "seed": args.seed, "micro": micro, "results": results}, f, indent=1)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(markdown(cases, results, micro, machine))
    svg_plot(results, os.path.join(args.out, "latency-vs-requests.svg"))
    for k, v in micro.items():
        print(f"{k}: {v}")
    print(f"wrote {os.path.relpath(args.out, ROOT)}/results.md, results.json, latency-vs-requests.svg")


if __name__ == "__main__":
    main()
