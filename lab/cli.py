"""The `descent-lab` command: the page's exports for a page link, on standard output.

    descent-lab export LINK [--format json|csv|torch] [--run K]
    descent-lab serve [--replicas N] [--port P] [--backend HOST:PORT]   (serving/launcher.py)

LINK is the page's address: the query string with or without its leading '?', or the whole URL.
The link is read exactly as the page reads it (lab.link.from_query), the runs are computed by
lab.runs, and the export is the page's own: lab.export's CSV or JSON of every run, or the
PyTorch script of one run (lab.torch_script). --run K (1 = the first optimizer in the link)
picks one run: for torch it is the run to write (default 1); for json and csv it narrows the
export, configuration included, to that run.

Exit status:
  0  the export was written;
  1  the link holds something the page would not use, or a run could not be built: the page's
     messages are printed on standard error and NOTHING is written to standard output (the page
     carries on with defaults in place of what it ignored, but a script that pipes the output
     on must not mistake the defaults' export for the export of its link);
  2  a usage error: an unknown format, or a --run that the link does not have.

A network-mode link's json and csv are the network page's: per run and epoch the training and
held-out loss and accuracy, gradient norm, learning rate, status and place on the slice.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Sequence, TextIO
from urllib.parse import parse_qsl, urlsplit

from lab import export
from lab.config import Config
from lab.link import from_query
from lab.runs import build_mlp, network_result, run_one
from lab.torch_script import torch_script

FORMATS = ("json", "csv", "torch")
SERVING = {"serve": "serve a class: N replicas behind HAProxy (descent-lab serve --help)",
           "replica": "one replica for another machine's `serve --backend`"}
OK, BAD_LINK, USAGE = 0, 1, 2


class UsageError(Exception):
    """A request this command cannot serve; the message says why."""


def query_of(link: str) -> dict[str, str]:
    """The query parameters of a page link: 'a=1&b=2', '?a=1&b=2' or 'http://host/?a=1&b=2'.
    A key given twice keeps its last value, as the page's st.query_params does; a parameter
    without '=' is kept with an empty value, so that the page's notices name it."""
    text = link.strip()
    if "://" in text or text.startswith("//"):
        text = urlsplit(text).query
    elif "?" in text:
        text = text.split("?", 1)[1]
    text = text.split("#", 1)[0]
    return dict(parse_qsl(text, keep_blank_values=True))


def _describe_runs(config: Config) -> str:
    return ", ".join(f"{i} {choice.label}" for i, choice in enumerate(config.runs, start=1))


def _pick(config: Config, run: int | None) -> int | None:
    """The 0-based index of --run K, or UsageError when the link has no run K."""
    if run is None:
        return None
    n = len(config.runs)
    if not 1 <= run <= n:
        raise UsageError(f"--run {run} is out of range: this link has {n} run"
                         f"{'s' if n != 1 else ''} ({_describe_runs(config)}); choose 1 to {n}.")
    return run - 1


def export_text(link: str, fmt: str, run: int | None = None) -> tuple[str | None, list[str]]:
    """The export of a page link and the page's messages about it (notices and run errors).
    The text is None when nothing could be exported. Raises UsageError."""
    if fmt not in FORMATS:
        raise UsageError(f"Unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}.")
    config, messages = from_query(query_of(link))
    index = _pick(config, run)
    if fmt == "torch":
        if config.mode == "network":
            try:
                build_mlp(config)
            except ValueError as err:  # bad layer sizes: the page's message, for every run
                return None, messages + [str(err)]
        try:
            return torch_script(config, 0 if index is None else index), messages
        except ValueError as err:
            choice = config.runs[0 if index is None else index]
            return None, messages + [f"{choice.label}: {err}"]
    if index is not None:
        config = replace(config, runs=(config.runs[index],))
    if config.mode == "network":
        result = network_result(config)
        if result.error:
            return None, messages + [result.error]
        messages += [r.error for r in result.runs if r.error]
        if all(r.trajectory is None for r in result.runs):
            return None, messages
        writer = export.network_to_json if fmt == "json" else export.network_to_csv
        return writer(config, result), messages
    results = [run_one(config, choice) for choice in config.runs]
    messages += [r.error for r in results if r.error]
    if all(r.trajectory is None for r in results):
        return None, messages
    writer = export.to_json if fmt == "json" else export.to_csv
    return writer(config, results), messages


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] in SERVING:
        # The class server (processes, HAProxy) lives in serving/; imported only for it, and
        # plain Python (no Streamlit in this process).
        from serving import launcher
        return launcher.main(words, stdout)
    parser = argparse.ArgumentParser(
        prog="descent-lab",
        description="Descent Lab on the command line: the page's exports for a page link.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in SERVING.items():  # listed in --help; handled above
        commands.add_parser(name, help=text)
    exp = commands.add_parser(
        "export", help="write the export of a page link to standard output",
        description="Write the export of a page link to standard output: the page's CSV or JSON "
                    "of its runs, or a PyTorch script of one run. Exit status 1: the link holds "
                    "something the page would ignore (its message is on standard error and "
                    "nothing is written to standard output); 2: a usage error.")
    exp.add_argument("link", help="the page's link: its query string, with or without '?', or "
                                  "the whole URL (quote it in the shell)")
    exp.add_argument("--format", choices=FORMATS, default="json",
                     help="json or csv of every run, or torch: a PyTorch script of one run "
                          "(default: json)")
    exp.add_argument("--run", type=int, metavar="K",
                     help="the K-th optimizer of the link, from 1 (torch: default 1; json and "
                          "csv: only that run)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse has printed its message
        return int(stop.code or 0)
    try:
        text, messages = export_text(args.link, args.format, args.run)
    except UsageError as err:
        print(f"descent-lab: {err}", file=stderr)
        return USAGE
    for message in messages:
        print(f"descent-lab: {message}", file=stderr)
    if messages or text is None:
        print("descent-lab: nothing written; fix the link and run the command again.", file=stderr)
        return BAD_LINK
    stdout.write(text if text.endswith("\n") else text + "\n")
    return OK


if __name__ == "__main__":
    sys.exit(main())
