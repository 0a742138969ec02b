"""`noisy-select bench`: scenarios x strategies x seeds, each run a ``RunConfig`` (``bench.run``).

Each run is a pure function of its config: the seed draws the scenario's data and seeds the
models. Results are appended as one JSON line per run (``records``), so a sweep can be
resumed; a run whose strategy or loop config changed is run again.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace

from tqdm import tqdm

from noisy_select.bench.records import (
    check_results_file,
    end_with_newline,
    read_results,
    row_key,
    unique_rows,
)
from noisy_select.bench.run import FOLDER, RunConfig, check_config, run, scenario_name
from noisy_select.data import scenarios, sources
from noisy_select.errors import DataError, UsageError
from noisy_select.strategies.registry import MOVED, canonical, get_spec
from noisy_select.train.training import size_warning


def _worker_init(parent: int) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # tqdm's default lock is a multiprocessing semaphore; a worker that is terminated would
    # leave it registered, and multiprocessing would report it as leaked. Bars are off here.
    tqdm.set_lock(threading.RLock())
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int, every: float = 0.5) -> None:
    """End this worker as soon as its parent is gone, however it died (even ``kill -9``, which
    leaves no chance to stop the workers): an orphan is re-parented, so its parent changes."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


@contextlib.contextmanager
def results_lock(path: str) -> Iterator[None]:
    """Hold an exclusive lock on the results file ``path`` (created if missing) for a sweep; a
    second writer is refused at once with ``DataError`` (two sweeps would train and store the
    same runs twice). No lock where the platform has no ``flock`` (Windows)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    created = not os.path.exists(path)
    holder = f"{path}.pid"  # the lock holder's pid, for the sweep that is refused
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                with open(holder) as h:
                    who = f" (pid {int(h.read())})"  # README promises it
            except (OSError, ValueError):
                who = ""
            raise DataError(f"Another noisy-select sweep is writing to {path}{who}; wait for it "
                            "to finish, or pass another --results.") from None
        try:
            with open(holder, "w") as h:
                h.write(str(os.getpid()))
            yield
        finally:
            with contextlib.suppress(OSError):
                os.remove(holder)
            if created and os.path.getsize(path) == 0:  # nothing ran: leave no empty file
                os.remove(path)
            fcntl.flock(f, fcntl.LOCK_UN)


def plan(scenario_names: list[str], strategy_names: list[str], seeds: list[int], **options
         ) -> list[RunConfig]:
    """Every run of a sweep, names checked first (unknown names raise ``ValueError``), and the
    image sources the scenarios need found (``DataError`` when one is missing). ``options``
    are the ``RunConfig`` fields every run shares (a sweep runs on one thread by default);
    ``data``, a folder of the official layout, is one more scenario (``_folder_configs``).
    """
    base = RunConfig(**{"threads": 1, **options, "data": None, "progress": False})
    # A name or seed given twice is one run (its rows would share one key).
    scenario_names = list(dict.fromkeys(scenario_names))
    seeds = list(dict.fromkeys(seeds))
    if not scenario_names and options.get("data") is None:
        raise UsageError("Expected at least one scenario in --scenarios (or a --data folder), "
                         "but got none.")
    # Checked (a rule of one's own: loaded and tried) and pinned to its file's version.
    strategy_names = list(dict.fromkeys(canonical(name) for name in strategy_names))
    recipes = {name: scenarios.get_scenario(name) for name in scenario_names}
    check_config(base)
    if any(r.source == "fashion" for r in recipes.values()):
        base = replace(base, source=sources.find_fashion(base.source))
    configs = [replace(base, scenario=os.path.abspath(sc) if scenarios.is_scenario_file(sc)
                       else sc, strategy=st, seed=seed)
               for sc in scenario_names for seed in seeds for st in strategy_names]
    if options.get("data") is not None:
        configs += _folder_configs(replace(base, data=options["data"]), strategy_names, seeds)
    return configs


def _warn_if_too_small(todo: list[RunConfig]) -> None:
    """One line per scenario, scale and epochs of ``todo`` too small to learn anything."""
    for scenario, scale, epochs in dict.fromkeys(
            (c.scenario, c.scale, c.epochs) for c in todo if c.data is None):
        recipe = scenarios.get_scenario(str(scenario))  # plan names one for every run
        warning = size_warning(round(recipe.train_size * scale), epochs, scale)
        if warning:
            print(f"{recipe.name}: {warning}", file=sys.stderr)


def _folder_configs(base: RunConfig, strategy_names: list[str], seeds: list[int]
                    ) -> list[RunConfig]:
    """The runs of a sweep on a folder of the official layout, checked first: its data is fixed,
    so the seeds seed the models only; it is scored on its val split (which must be clean: the
    loop never sees it) and on a test split if it has one."""
    from noisy_select.data import folders

    data_dir = str(base.data)
    state = folders.folder_state(data_dir)
    if state.kind not in ("data", "proxy"):
        raise DataError(f"Expected {data_dir} to hold train/ and val/ with their labels (the "
                        "official layout), but it does not; nothing was run.")
    readers = [n for n in strategy_names if get_spec(n).oracle]
    if readers:
        raise UsageError(f"Strategies {readers} read the clean labels, which data of your own "
                         "does not have; drop them for -d.")
    folders.check_splits(data_dir)  # bad data (a val split of one class, say) stops here
    name = f"{FOLDER}{os.path.basename(os.path.abspath(data_dir))}@" \
           f"{folders.content_hash(data_dir)[:8]}"
    return [replace(base, scenario=name, strategy=st, seed=seed, scale=1.0,
                    data=os.path.abspath(data_dir))
            for seed in seeds for st in strategy_names]


def _estimate(rows: list[dict], todo: list[RunConfig]) -> float | None:
    """Seconds ``todo`` should take on one process, each run at the mean of the rows of its
    scenario and scale in ``rows`` (of all rows where it has none); None without any."""
    seconds: dict[tuple, list[float]] = {}
    for r in rows:
        if isinstance(r.get("seconds"), (int, float)):
            seconds.setdefault((r.get("scenario"), r.get("scale")), []).append(r["seconds"])
            seconds.setdefault((), []).append(r["seconds"])
    if not seconds:
        return None
    mean = {k: sum(v) / len(v) for k, v in seconds.items()}
    return sum(mean.get((scenario_name(c.scenario), c.scale), mean[()]) for c in todo)


BACKENDS = ("pool", "ray")


def check_backend(*, jobs: int = 1, backend: str = "pool", address: str | None = None) -> None:
    """``UsageError`` for options of ``sweep`` that cannot go together; the CLI calls it before
    ``plan`` looks for any data."""
    if jobs < 1:
        raise UsageError(f"Expected `jobs` >= 1, but got {jobs}.")
    if backend not in BACKENDS:
        raise UsageError(f"Expected `backend` in {BACKENDS}, but got {backend!r}.")
    if address and backend != "ray":
        raise UsageError("--address applies to --backend ray only.")


def _run_pool(todo: list[RunConfig], jobs: int) -> Iterator[dict]:
    """Rows of ``todo`` as they finish, in this process (``jobs == 1``) or a process pool."""
    if jobs <= 1:
        for spec in todo:
            yield run(spec)
        return
    ctx = multiprocessing.get_context("spawn")  # safe with CUDA, unlike fork
    pool = ProcessPoolExecutor(jobs, ctx, _worker_init, (os.getpid(),))
    try:
        futures = [pool.submit(run, s) for s in todo]
        for future in as_completed(futures):
            yield future.result()
    except BaseException:
        # Stop at once: runs in flight are lost, finished ones are saved. Waiting for the dead
        # workers and the pool's own thread lets it release its semaphores before exit.
        processes = list(getattr(pool, "_processes", {}).values())
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(10)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()


def connect_ray(address: str | None, jobs: int):
    """``ray`` connected to the cluster at ``address`` (host:port), or a new local Ray with
    ``jobs`` CPUs. ``UsageError`` (one line) when ray is missing or the address does not
    answer; ``DataError`` with Ray's own cause when it does not start, twice."""
    try:
        import ray
    except ImportError:
        raise UsageError("--backend ray needs the ray package: pip install -e '.[ray]'") from None
    if address and address != "auto":
        host, _, port = address.removeprefix("ray://").rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
        except (OSError, ValueError):
            raise UsageError(f"Expected a Ray cluster at {address!r} (host:port), but nothing "
                             "answers there; start one with `ray start --head`, or drop "
                             "--address for a local Ray.") from None
    if not ray.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": jobs}
        # A busy 2-core machine can take longer than Ray's defaults to register a local node
        # (ray-project/ray#47087): wait longer, and try once more before giving up.
        os.environ.setdefault("RAY_raylet_start_wait_time_s", "120")
        for attempt in (1, 2):
            try:
                ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False,
                         **kwargs)
                break
            except Exception as err:  # noqa: BLE001 (Ray raises many kinds; each is one line)
                with contextlib.suppress(Exception):
                    ray.shutdown()
                if attempt == 2:
                    cause = (str(err).strip().splitlines() or [type(err).__name__])[0]
                    raise DataError(f"Ray did not start {'at ' + address if address else 'here'} "
                                    f"(tried twice): {cause}. Use the default --backend pool, "
                                    "or start Ray yourself (`ray start --head`) and pass "
                                    "--address.") from None
    return ray


def _run_ray(ray, todo: list[RunConfig], address: str | None) -> Iterator[dict]:
    """Rows of ``todo`` as they finish, one Ray task per run (``ray``: ``connect_ray``)."""
    task = ray.remote(num_cpus=1)(run)  # one CPU a task: use --threads 1 (the default)
    pending = [task.remote(spec) for spec in todo]
    try:
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            yield ray.get(finished[0])
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if not address:
            ray.shutdown()


def _sweep_locked(specs: list[RunConfig], out: str, *, jobs: int, progress: bool, backend: str,
                  address: str | None, bar: bool | None = None) -> None:
    rows = check_results_file(out)
    done = {row_key(r) for r in rows}
    todo = [s for s in specs if s.key() not in done]
    for spec in todo:  # a name that moved to research/ reads its old rows, and runs nothing
        moved = MOVED.get(spec.strategy)
        if moved is not None:
            raise UsageError(f"{moved.message} ({out} lacks its run {scenario_name(spec.scenario)}, seed "
                             f"{spec.seed}.)")
    ray = connect_ray(address, jobs) if backend == "ray" and todo else None
    if len(specs) > len(todo):
        print(f"{len(specs) - len(todo)} of {len(specs)} runs already in {out}.")
    total = _estimate(rows, todo)
    eta = (f", about {total / min(jobs, len(todo)) / 60:.0f} minutes (each run at the mean time "
           f"of its scenario's runs in {out})" if total and todo else "")
    where = "on Ray" if backend == "ray" else f"with {jobs} process{'es' if jobs > 1 else ''}"
    print(f"{len(todo)} runs to do {where}{eta}.", flush=True)
    _warn_if_too_small(todo)
    results = _run_ray(ray, todo, address) if ray is not None else _run_pool(todo, jobs)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    end_with_newline(out)
    shown = progress and (sys.stderr.isatty() if bar is None else bar)
    runs = tqdm(total=len(todo), desc="bench", unit="run", disable=not shown)
    for done_count, row in enumerate(results, start=1):
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")
        message = (f"{row['scenario']}/{row['strategy']}/{row['loop']} loop/seed {row['seed']}: "
                   f"BAC {row['bac_mean']:.3f} in {row['seconds']:.0f} s")
        if runs.disable:
            if progress:
                print(f"[{done_count}/{len(todo)}] {message}", flush=True)
        else:
            runs.set_postfix_str(message)
        runs.update()
    runs.close()


def sweep(specs: list[RunConfig], out: str, *, jobs: int = 1, progress: bool = True,
          backend: str = "pool", address: str | None = None, bar: bool | None = None
          ) -> list[dict]:
    """Run the specs not already in ``out`` (resume), appending each result as it finishes.

    ``backend="pool"`` runs them here (``jobs`` processes); ``"ray"`` runs each as a Ray task
    on the cluster at ``address`` (a local Ray with ``jobs`` CPUs when None): same rows, same
    resume. Prints the size of the sweep first, then a progress bar (``bar``; by default when
    stderr is a terminal, else a line per run). An interrupt stops the runs; every finished
    run is already in ``out``. Returns the rows of ``out`` that belong to ``specs``.
    """
    check_backend(jobs=jobs, backend=backend, address=address)
    check_results_file(out)  # before the lock creates the file
    with results_lock(out):
        _sweep_locked(specs, out, jobs=jobs, progress=progress, backend=backend, address=address,
                      bar=bar)
    wanted = {s.key() for s in specs}
    return unique_rows([r for r in read_results(out) if row_key(r) in wanted], out)

