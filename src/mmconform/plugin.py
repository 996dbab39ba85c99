"""The mmconform pytest plugin (registered through the `pytest11` entry point).

This is the only module of the suite that imports pytest at import time. Without `--mm-url` it
only registers its options and the `requirement` marker, so projects that merely have mmconform
installed (our own `tests/` included) are untouched.

With `--mm-url`, the controller process probes the target before anything is created (a bad URL
or credentials stop the run as a usage error), picks the seed and the run folder, and switches on
the baseline config (public links, attachments) when allowed. The controller provisions the run's
one world on first need and every pytest process (every xdist worker, through `workerinput`)
works in it, so `-n` costs no extra objects on the target (shared_world.py); the controller
finally sweeps the shared ledger, so a crashed worker leaves nothing.
Secrets are read from the environment (MMCONFORM_TOKEN, MMCONFORM_PASSWORD) when not given as
options, so `mmconform run` never puts them on a command line.
"""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from mmconform.live_target.client import Actor, Target
    from mmconform.live_target.ledger import Ledger
    from mmconform.live_target.overlap import Overlap
    from mmconform.live_target.rows import RowRunner
    from mmconform.live_target.world import World

_BASELINE = {"FileSettings.EnablePublicLink": True, "FileSettings.EnableFileAttachments": True}
_STASH_PROBE = pytest.StashKey[Any]()
_STASH_WORLD = pytest.StashKey[tuple[bytes | None, str | None]]()
_STASH_SESSION = pytest.StashKey["Session"]()
_STASH_INDEX = pytest.StashKey[dict[str, int]]()
_AHEAD = "_mm_ahead"
_AHEAD_BY_HOOK = "_mm_ahead_by_hook"
TARGET_FAILED_FILE = "target-failed.txt"
# Libraries pytest would assertion-rewrite only because their distributions ship a pytest11
# entry point. Rewriting recompiles every one of their modules on each run when no bytecode
# may be cached (PYTHONDONTWRITEBYTECODE, read-only site-packages): ~3 s of start-up, and their
# internal asserts are not test assertions. Our own tests and fixtures are rewritten as before.
_NOT_REWRITTEN = ("hypothesis", "schemathesis")


def _skip_rewriting_libraries() -> None:
    """Unmark `_NOT_REWRITTEN` in pytest's rewriting import hook before they are imported.

    Runs when pytest loads this plugin from its entry point, after it marked the plugin
    distributions. The hook's set is not public API: if it is missing, nothing changes.
    """
    for finder in sys.meta_path:
        marked = getattr(finder, "_must_rewrite", None)
        cache = getattr(finder, "_marked_for_rewrite_cache", None)
        if isinstance(marked, set) and isinstance(cache, dict):
            marked.difference_update(n for n in _NOT_REWRITTEN if n not in sys.modules)
            cache.clear()


_skip_rewriting_libraries()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Every --mm-* option, from the one table `mmconform run` uses too (mmconform.options)."""
    from mmconform.options import add_to_pytest

    add_to_pytest(parser.getgroup("mmconform", "mmconform conformance target").addoption)


def option(config: pytest.Config, dest: str) -> Any:
    """An option's value; its environment twin and default were applied at configure."""
    return config.getoption(dest, default=None)


def is_active(config: pytest.Config) -> bool:
    return bool(option(config, "mm_url"))


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(*ids): requirement IDs from conformance/requirements.yaml"
    )
    from mmconform.errors import UsageError
    from mmconform.options import resolve_pytest
    from mmconform.traffic import IN_FLIGHT

    try:
        resolve_pytest(config.option)  # environment twins, defaults, checks (one table)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not is_active(config):
        return

    try:
        IN_FLIGHT.set_limit(concurrency(config))
        if not is_worker(config):
            _prepare_controller(config)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


def concurrency(config: pytest.Config) -> int:
    """--mm-concurrency (or MMCONFORM_CONCURRENCY, resolved and checked by the option table):
    requests in flight per process."""
    from mmconform.live_target.overlap import parse_concurrency

    return parse_concurrency(option(config, "mm_concurrency"), "--mm-concurrency")


def _probe(config: pytest.Config) -> Any:
    from mmconform.live_target.probe import probe

    return probe(
        str(option(config, "mm_url")),
        token=option(config, "mm_token"),
        login=option(config, "mm_login"),
        password=option(config, "mm_password"),
        server_version=option(config, "mm_server_version"),
    )


def _prepare_controller(config: pytest.Config) -> None:
    """Probe, choose seed and run folder, switch on the baseline config if allowed."""
    from mmconform.live_target.client import Target
    from mmconform.live_target.ledger import Ledger
    from mmconform.live_target.settings import apply_settings
    from mmconform.live_target.world import make_prefix

    result = _probe(config)
    _check_licence_options(config, result)
    config.stash[_STASH_PROBE] = result
    # The licence as found (results.json target.licence): an Entry SKU is not "unlicensed".
    setattr(config, TARGET_LICENCE_ATTR, dict(result.licence))
    # From here on the option is the version the run is judged by, for every plugin that asks.
    if not config.option.mm_server_version:
        config.option.mm_server_version = result.version
    if config.option.mm_seed is None:
        config.option.mm_seed = random.SystemRandom().randrange(10**9)
    if config.option.mm_reports is None:
        import time

        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        prefix = make_prefix(config.option.mm_seed, stamp)
        config.option.mm_reports = str(Path("reports") / f"{stamp}-{prefix}")
    run_dir = Path(config.option.mm_reports).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    config.option.mm_reports = str(run_dir)
    target = Target(result.url)
    try:
        ledger = Ledger(run_dir / "ledger.jsonl", "controller")
        _bind_ledger(target, result, ledger)
        if option(config, "mm_allow_config_changes"):
            apply_settings(target, result.admin, ledger, _BASELINE)
    finally:
        target.close()


def _bind_ledger(target: Target, result: Any, ledger: Ledger) -> None:
    """The ledger's first record names its server; a reused run folder must be that server's."""
    from mmconform.live_target.identity import check_same_server, server_identity
    from mmconform.live_target.ledger import read_ledger

    if ledger.path.exists():
        bound = read_ledger(ledger.path).target
        if bound is not None:
            check_same_server(target, result.admin, bound, str(ledger.path))
            return
    ledger.bind(server_identity(target, result.admin, result.version_id))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand the controller's choices (seed, run folder) and the run's one world (or why
    it could not be provisioned) to each worker, in memory."""
    config = node.config
    if is_active(config):
        node.workerinput["mm_seed"] = config.option.mm_seed
        node.workerinput["mm_reports"] = config.option.mm_reports
        blob, error = _shared_world(config)
        node.workerinput["mm_world"] = blob
        node.workerinput["mm_world_error"] = error


def _shared_world(config: pytest.Config) -> tuple[bytes | None, str | None]:
    """The controller provisions the run's world once, on first need (the first xdist node, or
    the first test of a run without workers); every process then gets the same world.

    Returns the packed world, or None and the (redacted) reason provisioning failed; the
    failure is recorded for `mmconform run` (exit 3). Whatever was created is in the ledger
    and goes in the controller's sweep at the end.
    """
    if _STASH_WORLD in config.stash:
        return config.stash[_STASH_WORLD]
    from mmconform.errors import TargetFailed
    from mmconform.live_target.client import ApiError, Target
    from mmconform.live_target.ledger import Ledger
    from mmconform.live_target.shared_world import pack
    from mmconform.live_target.world import make_prefix, provision

    result = config.stash[_STASH_PROBE]
    seed, run_dir = _seed_and_dir(config)
    prefix = make_prefix(seed, f"{run_dir.name}:world")
    target = Target(result.url)
    target.secrets.add(option(config, "mm_password"))
    target.secrets.add(option(config, "mm_token"))
    outcome: tuple[bytes | None, str | None]
    try:
        ledger = Ledger(run_dir / "ledger.jsonl", prefix)
        world = provision(target, result.admin, ledger, prefix, seed)
        outcome = (pack(world), None)
    except (ApiError, TargetFailed) as exc:
        _record_target_failure(run_dir, target.redact(f"provisioning failed: {exc}"))
        outcome = (None, target.redact(f"cannot provision the world: {exc}"))
    finally:
        target.close()
    config.stash[_STASH_WORLD] = outcome
    return outcome


def _world_blob(config: pytest.Config) -> tuple[bytes | None, str | None]:
    """This process's view of the shared world: from xdist's workerinput, or the controller's."""
    source: dict[str, Any] | None = getattr(config, "workerinput", None)
    if source is not None:
        return source.get("mm_world"), source.get("mm_world_error")
    return _shared_world(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not is_active(config):
        return []
    result = config.stash.get(_STASH_PROBE, None)
    version = getattr(result, "version", None) or "unknown"
    return [
        f"mmconform: target {option(config, 'mm_url')} (version {version}), "
        f"seed {config.option.mm_seed}, profile {config.option.mm_profile}, "
        f"run folder {config.option.mm_reports}"
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep only this slice's items under --mm-shard; with --concurrency above 1, run what
    must run alone last; reject requirement IDs the registry does not know, naming the test;
    then keep only the tests the selection options ask for (mmconform.selection)."""
    _select_shard(config, items)
    _alone_last(config, items)
    marked = [(item, m) for item in items for m in item.iter_markers("requirement")]
    if not marked:
        return
    from mmconform.errors import UsageError
    from mmconform.registry import load_registry

    try:
        registry = load_registry()
        for item, mark in marked:
            registry.check_ids([str(a) for a in mark.args], f"test {item.nodeid}")
        _select(config, items, registry)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


# config attribute the results plugin reads: the probe's licence facts (licensed, sku).
TARGET_LICENCE_ATTR = "_mmconform_target_licence"
# config attribute the results plugin reads: {"criteria": {...}, "deselected": N}.
SELECTION_ATTR = "_mmconform_selection"


def criteria_of(config: pytest.Config) -> Any:
    """The selection the options (or their environment twins) ask for."""
    from mmconform.errors import UsageError
    from mmconform.selection import Criteria, split_values

    def values(dest: str) -> tuple[str, ...]:
        return split_values(config.getoption(dest, default=None))

    nodeids: tuple[str, ...] = ()
    tests_file = config.getoption("mm_tests", default=None)
    if tests_file:
        try:
            text = Path(tests_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--mm-tests {tests_file}: cannot read ({exc.strerror})") from None
        nodeids = tuple(line.strip() for line in text.splitlines() if line.strip())
        if not nodeids:
            raise UsageError(f"--mm-tests {tests_file}: lists no test; nothing would run")
    return Criteria(
        requirements=values("mm_requirement"),
        operations=values("mm_operation"),
        actors=values("mm_actor"),
        nodeids=nodeids,
    )


def _select(config: pytest.Config, items: list[pytest.Item], registry: Any) -> None:
    from mmconform.selection import check_criteria

    criteria = criteria_of(config)
    facts = [item_facts(item) for item in items]
    if config.getoption("mm_list", default=None):
        config.stash[_STASH_FACTS] = dict(zip([f.nodeid for f in facts], facts, strict=True))
    setattr(config, SELECTION_ATTR, {"criteria": criteria.as_json(), "deselected": 0})
    if criteria.empty:
        return
    check_criteria(criteria, registry.requirements)
    keep = [criteria.matches(f) for f in facts]
    dropped = [item for item, k in zip(items, keep, strict=True) if not k]
    if dropped:
        items[:] = [item for item, k in zip(items, keep, strict=True) if k]
        config.hook.pytest_deselected(items=dropped)
    getattr(config, SELECTION_ATTR)["deselected"] = len(dropped)


_STASH_FACTS = pytest.StashKey[dict[str, Any]]()


def item_facts(item: pytest.Item) -> Any:
    """A test's `mmconform.selection.TestFacts`: its marker IDs, plus what its module's
    `mm_item_facts(item)` adds (operation, actor, the IDs its checks can charge)."""
    from mmconform.report.pytest_plugin import operation_of
    from mmconform.selection import TestFacts

    carries = tuple(
        dict.fromkeys(str(i) for m in item.iter_markers("requirement") for i in _flat(m.args))
    )
    hook = getattr(getattr(item, "module", None), "mm_item_facts", None)
    extra: dict[str, Any] = hook(item) if callable(hook) else {}
    return TestFacts(
        nodeid=item.nodeid,
        operation=extra.get("operation") or operation_of(item),
        actor=extra.get("actor"),
        carries=carries,
        charges=frozenset(carries) | frozenset(str(i) for i in extra.get("charges", ())),
    )


def _flat(args: tuple[Any, ...]) -> list[Any]:
    return [i for a in args for i in (a if isinstance(a, list | tuple) else [a])]


def pytest_collection_finish(session: pytest.Session) -> None:
    """--mm-list FILE: what would run, with the N/A the version and the flags predict."""
    config = session.config
    path = config.getoption("mm_list", default=None)
    if not path or is_worker(config):
        return
    from mmconform.listing import listing_document
    from mmconform.report.model import write_json

    facts = config.stash.get(_STASH_FACTS, {})
    rows = {
        item.nodeid: getattr(item, "callspec").params.get("row")  # noqa: B009 - not on Item
        for item in session.items
        if getattr(item, "callspec", None) is not None
    }
    document = listing_document(
        [facts[i.nodeid] for i in session.items if i.nodeid in facts],
        rows,
        version=option(config, "mm_server_version"),
        licence_changes=bool(option(config, "mm_allow_license_changes")),
        signing_key=bool(option(config, "mm_signing_key")),
        selection=getattr(config, SELECTION_ATTR, None),
        config_changes=bool(option(config, "mm_allow_config_changes")),
        trial_state=option(config, "mm_trial_state"),
    )
    write_json(Path(path), document)


def _alone_last(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Items that must run alone (`overlap.must_run_alone`, the licence fuzz items) after all
    the others, each group in its own order, when checks start ahead.

    Such an item waits for its exclusive lock until nothing started ahead still runs; met
    early, it held pytest's thread (and the stateful scenarios, the HTTP-layer tests behind
    it) until the pool had drained. Every item restores what it changes and each runs under
    the same lock either way, so no verdict depends on the order (xdist runs any order too).
    """
    if not is_active(config) or concurrency(config) <= 1:
        return
    from typing import cast

    nobody = cast(Session, None)  # only the verdict "may start ahead" is read, no check runs
    alone = []
    for item in items:
        build = _marker(item, _AHEAD)
        if build is not None and not build(nobody, item)[1]:
            alone.append(item)
    if alone:
        moved = set(map(id, alone))
        items[:] = [item for item in items if id(item) not in moved] + alone


def _select_shard(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--mm-shard K/N: deselect every item of the other slices (by stable id, report/shard.py)."""
    text = config.getoption("mm_shard", default=None)
    if not text:
        return
    from mmconform.errors import UsageError
    from mmconform.report.shard import in_slice, parse_shard

    try:
        k, n = parse_shard(str(text), "--mm-shard")
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    keep = [item for item in items if in_slice(item.nodeid, k, n)]
    dropped = [item for item in items if not in_slice(item.nodeid, k, n)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


def pytest_unconfigure(config: pytest.Config) -> None:
    """Controller: sweep the whole ledger once every worker is done, and restore config."""
    if not is_active(config) or is_worker(config) or _STASH_PROBE not in config.stash:
        return

    from mmconform.live_target.probe import logout

    result = config.stash[_STASH_PROBE]
    try:
        _sweep(config, result)
    finally:
        logout(result)  # the controller's own admin session, last of all
        _merge_exchanges(Path(config.option.mm_reports))


def _merge_exchanges(run_dir: Path) -> None:
    """Every process's failing exchanges into the run's one exchanges.har."""
    from mmconform import __version__
    from mmconform.exchanges import merge

    try:
        merge(run_dir, __version__)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"mmconform: could not write exchanges.har ({exc})\n")


def _sessions_line(result: Any) -> str:
    if result.logged_in:
        return "  sessions: every admin session the run logged in is logged out at its end"
    return "  sessions: the run worked with the token you gave; it stays valid"


def _sweep(config: pytest.Config, result: Any) -> None:
    from mmconform.live_target.cleanup import cleanup_ledger
    from mmconform.live_target.client import Target

    run_dir = Path(config.option.mm_reports)
    ledger = run_dir / "ledger.jsonl"
    if not ledger.exists():
        return
    target = Target(result.url)
    try:
        report = cleanup_ledger(
            target,
            result.admin,
            ledger,
            owner="controller",
            licence_bytes=_licence_bytes(config),
            allow_config_changes=bool(option(config, "mm_allow_config_changes")),
        )
    except Exception as exc:  # never hide the test outcome behind a cleanup error
        text = target.redact(f"{type(exc).__name__}: {exc}")
        sys.stderr.write(
            f"mmconform: cleanup incomplete ({text}); run mmconform cleanup --ledger {ledger}\n"
        )
        return
    finally:
        target.close()
    lines = report.lines()
    lines.append(_sessions_line(result))
    (run_dir / "cleanup.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if report.left:
        sys.stderr.write("\n".join(f"mmconform: {line}" for line in lines) + "\n")


def _licence(config: pytest.Config) -> Any:
    """The checked --mm-license-file (a LicenceFile), or None; UsageError if it is no licence."""
    from mmconform.live_target.licence import read_licence_file

    path = option(config, "mm_license_file")
    return read_licence_file(path, "--mm-license-file") if path else None


def _licence_bytes(config: pytest.Config) -> bytes | None:
    licence = _licence(config)
    return None if licence is None else bytes(licence.data)


def _check_licence_options(config: pytest.Config, result: Any) -> None:
    """Before anything is created: the licence file is a licence, and the target's if allowed."""
    from mmconform.errors import UsageError
    from mmconform.live_target.client import Target
    from mmconform.live_target.licence import check_matches

    allowed = bool(option(config, "mm_allow_license_changes"))
    licence = _licence(config)
    if allowed and licence is None:
        raise UsageError(
            "--mm-allow-license-changes needs --mm-license-file FILE (the licence to restore)"
        )
    if allowed and licence is not None:
        target = Target(result.url)
        try:
            check_matches(target, result.admin, licence)
        finally:
            target.close()


def _seed_and_dir(config: pytest.Config) -> tuple[int, Path]:
    source: dict[str, Any] = getattr(config, "workerinput", {})
    seed = source.get("mm_seed", config.option.mm_seed)
    run_dir = source.get("mm_reports", config.option.mm_reports)
    return int(seed or 0), Path(str(run_dir))


@dataclass
class Session:
    """Everything one pytest process needs to run conformance tests against the target."""

    target: Target
    admin: Actor
    world: World
    runner: RowRunner
    server_version: str | None
    run_dir: Path
    overlap: Overlap


@pytest.fixture(scope="session")
def mm_session(request: pytest.FixtureRequest) -> Iterator[Session]:
    """Probe, take the run's one world (provisioned by the controller), close at session end."""
    config = request.config
    if not is_active(config):
        pytest.fail(
            "no target: run `mmconform run`, or pass --mm-url with --mm-token or "
            "--mm-login/--mm-password",
            pytrace=False,
        )
    from mmconform.errors import UsageError
    from mmconform.live_target.client import Target
    from mmconform.live_target.gate import Gate, Permissions
    from mmconform.live_target.ledger import Ledger
    from mmconform.live_target.overlap import Overlap
    from mmconform.live_target.probe import logout
    from mmconform.live_target.rows import RowRunner, minter_from_key
    from mmconform.live_target.shared_world import unpack
    from mmconform.live_target.world import make_prefix

    blob, error = _world_blob(config)
    if blob is None:
        pytest.fail(error or "cannot provision the world", pytrace=False)
    try:
        result = _probe(config)
    except UsageError as exc:
        pytest.fail(str(exc), pytrace=False)
    seed, run_dir = _seed_and_dir(config)
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    # This process's own writes (uploads by rows and behaviour tests) go under its own owner.
    prefix = make_prefix(seed, f"{run_dir.name}:{worker}")
    from mmconform.exchanges import ExchangeLog

    target = Target(result.url)
    target.exchanges = ExchangeLog(run_dir, prefix)
    target.secrets.add(option(config, "mm_password"))
    target.secrets.add(option(config, "mm_token"))
    ledger = Ledger(run_dir / "ledger.jsonl", prefix)
    key = option(config, "mm_signing_key")
    try:
        licence = _licence(config)
    except UsageError as exc:
        pytest.fail(str(exc), pytrace=False)
    perms = Permissions(
        allow_config_changes=bool(option(config, "mm_allow_config_changes")),
        allow_license_changes=bool(option(config, "mm_allow_license_changes")),
        license_bytes=None if licence is None else licence.data,
        license_id=None if licence is None else licence.id,
        disposable=bool(option(config, "mm_disposable")),
    )
    world = unpack(blob, target, result.admin, ledger)
    gate = Gate(run_dir / "target.lock", target, result.admin, ledger, perms)
    runner = RowRunner(
        world,
        gate,
        result.version,
        minter_from_key(Path(key) if key else None),
        trial_state=option(config, "mm_trial_state"),
    )
    # Cleanup is the controller's, at unconfigure, after every worker is done: one process
    # sweeping the whole ledger cannot race another over the config it needs for deletions.
    overlap = Overlap(concurrency(config))
    session = Session(target, result.admin, world, runner, result.version, run_dir, overlap)
    config.stash[_STASH_SESSION] = session
    try:
        yield session
    finally:
        del config.stash[_STASH_SESSION]
        overlap.close()
        target.close()
        logout(result)  # this process's admin session; the controller sweeps with its own


@pytest.fixture(scope="session")
def target(mm_session: Session) -> Target:
    return mm_session.target


@pytest.fixture(scope="session")
def world(mm_session: Session) -> World:
    return mm_session.world


@pytest.fixture(scope="session")
def row_runner(mm_session: Session) -> RowRunner:
    return mm_session.runner


def _record_target_failure(run_dir: Path, message: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / TARGET_FAILED_FILE).open("a", encoding="utf-8") as fh:
        fh.write(message + "\n")


def run_checked(session: Session, action: Any) -> None:
    """Run `action()` turning suite outcomes into pytest outcomes.

    NotApplicable → skip "not applicable: …" (the results plugin counts it as N/A);
    ConformanceFailure → a failure showing only the message (it carries the repro line);
    TargetFailed → the target died: recorded for `mmconform run` (exit 3) and the run stops.
    """
    from mmconform.errors import TargetFailed
    from mmconform.live_target.gate import NotApplicable
    from mmconform.live_target.verdict import ConformanceFailure

    # Outcomes are raised outside the except blocks so pytest shows one message, not a chain.
    skip = failure = died = None
    try:
        action()
    except NotApplicable as exc:
        skip = f"not applicable: {exc}"
    except ConformanceFailure as exc:
        failure = str(exc)
    except TargetFailed as exc:
        died = str(exc)
    if skip is not None:
        pytest.skip(skip)
    if failure is not None:
        fail_with_exchange(session.run_dir, failure)
    if died is not None:
        _record_target_failure(session.run_dir, died)
        pytest.exit(f"mmconform: target failed: {died}", returncode=3)


def fail_with_exchange(run_dir: Path | None, failure: str) -> None:
    """Fail the test with `failure`; when allure records, its exchange is attached first.

    Only in pytest's own thread: allure attaches to the test running in the thread it is
    called from, and a pool thread (a check started ahead) would borrow whatever test pytest's
    thread is running. A failure from a check started ahead is attached when its item collects
    it (`_attaching`)."""
    if threading.current_thread() is threading.main_thread():
        _attach_exchange(run_dir, failure)
    pytest.fail(failure, pytrace=False)


def _attach_exchange(run_dir: Path | None, failure: str) -> None:
    if (
        run_dir is not None and "allure" in sys.modules
    ):  # allure-pytest is loaded: it may be recording this test
        try:
            from mmconform.report.allure_dynamic import attach_exchange

            attach_exchange(run_dir, failure)
        except Exception:  # an attachment must never replace the failure
            pass


def _attaching(session: Session, check: Check) -> Check:
    """A started check's outcome as its item collects it: a failure's exchange is attached
    here, in pytest's thread, to the right test (see `fail_with_exchange`)."""

    def collect() -> None:
        try:
            check()
        except pytest.fail.Exception as exc:
            _attach_exchange(session.run_dir, str(exc.msg))
            raise

    return collect


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A target that dies under a test outside `run_checked` (the fuzz tests send through
    schemathesis) stops the run the same way: recorded for exit 3, never a failed requirement."""
    from mmconform.errors import TargetFailed

    try:
        return (yield)
    except TargetFailed as exc:
        if not is_active(item.config):
            raise
        died = str(exc)
    _seed, run_dir = _seed_and_dir(item.config)
    _record_target_failure(run_dir, died)
    pytest.exit(f"mmconform: target failed: {died}", returncode=3)


# --- checks started ahead (live_target/overlap.py) ---------------------------------------------
Check = Callable[[], None]
AheadBuilder = Callable[["Session", pytest.Item], tuple[Check, bool]]
F = TypeVar("F", bound=Callable[..., Any])


def ahead(build: AheadBuilder) -> Callable[[F], F]:
    """Mark a test whose check may be started ahead of its turn.

    `build(session, item)` gives the item's check and whether it may start ahead (False for
    what `overlap.must_run_alone` names); the test body runs `overlapped(session, item)`, or,
    for a test whose body pytest must not run again (a Hypothesis test), `pytest_pyfunc_call`
    below collects the outcome instead.
    """

    def mark(function: F) -> F:
        setattr(function, _AHEAD, build)
        return function

    return mark


def _marker(item: pytest.Item, name: str) -> Any:
    """The mark on the test's function; schemathesis builds a new function per operation, so
    also on the module's function the item was made from."""
    value = getattr(getattr(item, "function", None), name, None)
    if value is None:
        module, original = getattr(item, "module", None), getattr(item, "originalname", None)
        if module is not None and original:
            # A schemathesis item parametrized again (test_fuzz_refused's actors) has the
            # operation in its originalname ('test_fuzz_refused[POST /api/v4/files]'): without
            # the cut, no refused fuzz item was ever found marked, so none started ahead.
            value = getattr(getattr(module, original.split("[", 1)[0], None), name, None)
    return value


def _built(session: Session, item: pytest.Item) -> tuple[Check, bool] | None:
    build = _marker(item, _AHEAD)
    if build is None:
        return None
    result: tuple[Check, bool] = build(session, item)
    return result


def overlapped(session: Session, item: pytest.Item) -> Check:
    """The item's check: the outcome of the one started ahead, or the check itself."""
    built = _built(session, item)
    if built is None:
        raise TypeError(f"{item.nodeid} is not marked with plugin.ahead")
    started = session.overlap.started(item.nodeid)
    check = session.overlap.outcome(item.nodeid, built[0])
    return _attaching(session, check) if started else check


def upcoming(item: pytest.Item) -> list[pytest.Item]:
    """This process's item and the ones it will run after it (see `_upcoming`)."""
    return _upcoming(item)


def _upcoming(item: pytest.Item) -> list[pytest.Item]:
    """This process's item and the ones it will run after it, in order.

    Without xdist that is the rest of the session's items; in an xdist worker, the indices the
    controller has sent it so far (its queue is read, never changed). Anything else: none.
    """
    items = item.session.items
    worker = next(
        (p for p in item.config.pluginmanager.get_plugins() if hasattr(p, "nextitem_index")), None
    )
    if worker is None:
        index = item.config.stash.get(_STASH_INDEX, None)
        if index is None:
            index = item.config.stash[_STASH_INDEX] = {it.nodeid: i for i, it in enumerate(items)}
        start = index.get(item.nodeid)
        return [] if start is None else items[start:]
    queue = getattr(worker, "torun", None)
    lock = getattr(queue, "lock", None)
    if lock is None:
        return [item]
    with lock() as pending:
        indices = [i for i in pending if isinstance(i, int)]
    nxt = worker.nextitem_index
    head = [nxt] if isinstance(nxt, int) else []
    return [item] + [items[i] for i in head + indices if 0 <= i < len(items)]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Once the item's fixtures exist: start every upcoming check that may go ahead."""
    result = yield
    session = item.config.stash.get(_STASH_SESSION, None)
    if session is not None and session.overlap.concurrency > 1:
        work = []
        for upcoming in _upcoming(item):
            if session.overlap.started(upcoming.nodeid):
                continue
            built = _built(session, upcoming)
            if built is not None and built[1]:
                work.append((upcoming.nodeid, built[0]))
        session.overlap.start(work)
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A Hypothesis test started ahead: its outcome, instead of running it a second time.

    Wrappers around this hook (schemathesis' turns a FailureGroup into its report) see the
    outcome raised here exactly as they would see it raised by the test itself.
    """
    if not _marker(pyfuncitem, _AHEAD_BY_HOOK):
        return None
    session = pyfuncitem.config.stash.get(_STASH_SESSION, None)
    if session is None or not session.overlap.started(pyfuncitem.nodeid):
        return None
    built = _built(session, pyfuncitem)
    if built is None:
        return None
    _attaching(session, session.overlap.outcome(pyfuncitem.nodeid, built[0]))()
    return True


def ahead_by_hook(build: AheadBuilder) -> Callable[[F], F]:
    """`ahead` for a test that pytest calls itself (Hypothesis): `build` returns a check that
    runs the test's function; pytest_pyfunc_call collects its outcome when the item's turn
    comes, or pytest runs the test as usual if it was not started ahead."""

    def mark(function: F) -> F:
        setattr(function, _AHEAD, build)
        setattr(function, _AHEAD_BY_HOOK, True)
        return function

    return mark
