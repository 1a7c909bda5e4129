"""prom_config.py SRC DST INTERVAL job=host:port... — the test Prometheus config.

Run by scripts/test-ops.sh before it starts Prometheus (not a test module):
SRC (monitoring/prometheus/prometheus.yml) with every job's targets replaced
by the given static target (every job must be given, and only those), the
intervals set to INTERVAL, rule_files made absolute. Prints the job names;
exit 1 (the problems on stderr) when the jobs and the targets do not match.
test_prometheus.py checks the result against SRC again.
"""

import os
import sys

import yaml


def main(argv):
    src, dst, interval = argv[1], argv[2], argv[3]
    targets = dict(a.split("=", 1) for a in argv[4:])
    with open(src) as f:
        cfg = yaml.safe_load(f)
    g = cfg.setdefault("global", {})
    g["scrape_interval"] = g["evaluation_interval"] = g["scrape_timeout"] = interval
    base = os.path.dirname(os.path.abspath(src))
    cfg["rule_files"] = [p if os.path.isabs(p) else os.path.join(base, p) for p in cfg.get("rule_files", [])]
    jobs, errors = [], []
    for sc in cfg["scrape_configs"]:
        job = sc["job_name"]
        jobs.append(job)
        if job not in targets:
            errors.append(f"job {job!r} of {src} has no local target in scripts/test-ops.sh")
            continue
        for key in [k for k in sc if k == "static_configs" or k.endswith("_sd_configs")]:
            del sc[key]
        sc.pop("scrape_interval", None)
        sc.pop("scrape_timeout", None)
        sc["static_configs"] = [{"targets": [targets[job]]}]
    for job in targets:
        if job not in jobs:
            errors.append(f"scripts/test-ops.sh maps job {job!r}, which {src} does not have")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    with open(dst, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    print(" ".join(jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
