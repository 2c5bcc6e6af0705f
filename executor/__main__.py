"""Command line: `python -m executor run LANGUAGE FILE [ARGS...]`, or
`python -m executor runtimes`. Runs in the real sandbox; needs root or
unprivileged user namespaces with a delegated cgroup."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from executor import config
from executor.backends.local import LocalBackend
from executor.errors import ExecutorError
from executor.events import Output, StageExited, StageStarted
from executor.requests import build_job
from executor.runtimes import Registry


async def _run(args: argparse.Namespace) -> int:
    settings = config.get()
    registry = Registry.load(settings.runtimes_dir)
    payload = {
        "language": args.language,
        "version": args.version,
        "args": args.args,
        "files": [
            {
                "name": Path(args.file).name if args.keep_name else None,
                "content": Path(args.file).read_text(),
            }
        ],
        "stdin": sys.stdin.read() if args.stdin else "",
    }
    job, _ = build_job(
        payload, registry, settings, settings.defaults["http_output_bytes"]
    )
    run = await LocalBackend(settings).submit(job)
    status = 0
    async for event in run.events():
        if isinstance(event, StageStarted):
            print(f"--- {event.stage}", file=sys.stderr)
        elif isinstance(event, Output):
            stream = sys.stdout if event.stream == "stdout" else sys.stderr
            stream.buffer.write(event.data)
            stream.flush()
        elif isinstance(event, StageExited):
            print(
                f"--- {event.stage}: {json.dumps(event.result.to_wire())}",
                file=sys.stderr,
            )
            status = 0 if event.result.status is None else 1
    return status


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m executor")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a file in the sandbox")
    run.add_argument("language")
    run.add_argument("file")
    run.add_argument("args", nargs="*")
    run.add_argument("--version", default="*")
    run.add_argument("--stdin", action="store_true", help="pass this stdin through")
    run.add_argument("--keep-name", action="store_true", help="keep the file name")
    commands.add_parser("runtimes", help="list runtimes and their state")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.command == "runtimes":
        for rt in Registry.load(config.get().runtimes_dir).all:
            print(
                f"{rt.language:12} {rt.version or '-':12} {rt.state:12} "
                f"{' '.join(rt.packages)}"
            )
        return
    try:
        sys.exit(asyncio.run(_run(args)))
    except (ExecutorError, OSError) as exc:
        sys.exit(f"python -m executor: {exc}")


if __name__ == "__main__":
    main()
