"""`make bench`: every performance figure as one JSON document, each beside its reference."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_engine  # noqa: E402
import bench_expression  # noqa: E402
import bench_network  # noqa: E402
import bench_optimizers_more  # noqa: E402
import bench_practitioner  # noqa: E402
import bench_sweep  # noqa: E402


def main() -> None:
    report = {"machine": {"cpus": os.cpu_count(), "load_average_1min": os.getloadavg()[0]},
              "engine": bench_engine.main(), "expression": bench_expression.main(),
              "network": bench_network.main(), "sweep": bench_sweep.main(),
              "practitioner": bench_practitioner.main(),
              "optimizers_more": bench_optimizers_more.main()}
    try:
        import bench_page
    except ImportError as err:  # the page benchmark needs playwright and chromium
        report["page"] = {"skipped": f"page benchmark unavailable: {err}"}
    else:
        report["page"] = bench_page.main()
    import bench_server  # server CPU per open of a lesson link, beside a bare page's open
    report["server"] = bench_server.main()
    import bench_class  # a class through `descent-lab serve`, beside one plain streamlit run
    report["class"] = bench_class.main()
    import bench_classroom  # class mode: store operations, followers' polling, answers, reveal
    report["class_mode"] = bench_classroom.main()
    import bench_static_gzip  # Streamlit's static JS/CSS gzipped once, beside as it ships
    report["static_gzip"] = bench_static_gzip.main()
    text = json.dumps(report, indent=2)
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
