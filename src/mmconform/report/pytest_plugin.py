"""pytest plugin collecting per-test verdicts for results.json (entry point mmconform_report).

Under pytest-xdist the tests run on workers while reports arrive at the controller, and markers
do not travel: the requirement IDs ride along in `item.user_properties`, which do. Only the
controller writes results.json, and only when the main plugin's `--mm-reports` names a run folder;
options of the main plugin are read with defaults so this plugin also works without it.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from mmconform.errors import UsageError
from mmconform.report.model import (
    ERROR,
    FAILED,
    NOT_APPLICABLE,
    NOT_APPLICABLE_PREFIX,
    PASSED,
    RESULTS_NAME,
    SKIPPED,
    write_json,
)
from mmconform.report.provenance import file_sha256, now_utc
from mmconform.report.redact import Scrubber
from mmconform.report.results import RunContext, TestRecord, build_results, short_message
from mmconform.report.summary import traffic_line
from mmconform.report.verdicts import RequirementMeta, bracketed_ids, metas_from_registry
from mmconform.traffic import TRAFFIC, Traffic

REQUIREMENTS_PROPERTY = "mm_requirements"
TRAFFIC_OUTPUT = "mm_traffic"
SELECTION_OUTPUT = "mm_selection"
# The files of every collected test, before selection (set by pytest_collection_modifyitems).
_COLLECTED_ATTR = "_mm_collected_paths"
# Where the main plugin leaves its selection (mmconform.plugin.SELECTION_ATTR).
_SELECTION_ATTR = "_mmconform_selection"
INTERRUPTED = "INTERRUPTED"
# Credentials the main plugin may have been handed; their literal values are scrubbed everywhere.
_SECRET_OPTIONS = ("mm_token", "mm_password")


def main_option(config: pytest.Config, dest: str) -> Any:
    """An option of the main plugin, or its environment twin (the one table,
    mmconform.options), or None when neither exists (this plugin also runs without it)."""
    value = config.getoption(dest, default=None)
    if value is None:
        from mmconform.options import OPTIONS, plugin_dest

        env = next((o.env for o in OPTIONS if plugin_dest(o) == dest), None)
        value = (os.environ.get(env) or None) if env else None
    return value


def detected_version(config: pytest.Config) -> str | None:
    """The version the run is judged by: given on the command line or set by the main plugin's
    probe (it writes the detected version into the same option)."""
    given = config.getoption("mm_server_version", default=None)
    return str(given) if given else None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mmconform-report", "mmconform results and certificate")
    group.addoption(
        "--mm-registry",
        dest="mm_registry",
        default=None,
        metavar="PATH",
        help="requirements registry to judge the run by (default: the shipped requirements.yaml)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Name every conformance test relative to the conformance folder (mmconform.report.testids).

    First of all hooks, so selection (`--deselect`, `--lf`) and every report see the same id;
    under xdist each worker renames its identical collection the same way. The files collected
    are kept before any selection drops items, for `ResultsCollector._narrowed`.
    """
    from mmconform.report.testids import stable_nodeid
    from mmconform.resources import conformance_dir

    folder = conformance_dir()
    for item in items:
        item._nodeid = stable_nodeid(item.nodeid, getattr(item, "path", None), folder)
    setattr(config, _COLLECTED_ATTR, [Path(item.path) for item in items])


def _hypothesis_home(config: pytest.Config) -> None:
    """Hypothesis' own storage goes to mmconform's cache folder instead of `.hypothesis/` in
    the user's working directory (an explicit HYPOTHESIS_STORAGE_DIRECTORY wins). The suite
    keeps no example database (fuzz settings have `database=None`: replay is by seed only), so
    what is stored there is derived data only: the unicode character tables Hypothesis builds on
    first use. Built in every fresh run folder they cost ~1-2 s per run (`mmconform selftest`
    pays that per fault); in the cache, once. Without a run folder (plain pytest of our own
    tests) Hypothesis keeps its default."""
    run_dir = config.getoption("mm_reports", default=None)
    if not run_dir or os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(hypothesis_cache(Path(run_dir)))


def hypothesis_cache(run_dir: Path) -> Path:
    """`$XDG_CACHE_HOME/mmconform/hypothesis` (`~/.cache/...`), or the run folder's own when
    that cannot be made."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    home = Path(base) / "mmconform" / "hypothesis"
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError:
        return run_dir / ".hypothesis"
    return home


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """JUnit: the suite is `mmconform` (unless junit_suite_name says otherwise) and carries no
    `hypothesis-statistics-*` properties (46 base64 blobs per run, noise to every CI system);
    runs before junitxml writes the file."""
    from _pytest.junitxml import xml_key

    xml = session.config.stash.get(xml_key, None)
    if xml is None:
        return
    if session.config.getini("junit_suite_name") == "pytest":
        xml.suite_name = "mmconform"
    xml.global_properties = [
        (name, value)
        for name, value in xml.global_properties
        if not str(name).startswith("hypothesis-statistics")
    ]


def _short_terminal_ids(config: pytest.Config) -> None:
    """FAILED/ERROR lines show a conformance test by its stable id too.

    pytest re-bases every id on the working directory for the terminal
    (`Config.cwd_relative_nodeid`), which turned `test_fuzz.py::…` back into a path through
    site-packages (or `conformance/…`); the stable id is what every report and `diff` use.
    """
    from mmconform.resources import conformance_dir

    folder = conformance_dir()
    original = config.cwd_relative_nodeid

    def relative(nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return nodeid if path and (folder / path).is_file() else original(nodeid)

    config.cwd_relative_nodeid = relative  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    _hypothesis_home(config)
    _short_terminal_ids(config)
    config.addinivalue_line(
        "markers", "requirement(*ids): requirement IDs from conformance/requirements.yaml"
    )
    config.pluginmanager.register(ResultsCollector(config), "mmconform_results_collector")


def _reason_of(report: pytest.TestReport) -> str:
    wasxfail = getattr(report, "wasxfail", None)
    if wasxfail is not None:
        return str(wasxfail)
    longrepr = report.longrepr
    if isinstance(longrepr, tuple | list) and len(longrepr) == 3:
        text = str(longrepr[2])
    else:
        text = report.longreprtext
    return text.removeprefix("Skipped: ").strip()


def _failure_text(report: pytest.TestReport | pytest.CollectReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) or report.longreprtext or "failed"
    return short_message(str(text))


def _flatten(args: tuple[Any, ...]) -> list[Any]:
    """`requirement("A", "B")` and `requirement(["A", "B"])` mean the same."""
    return [i for a in args for i in (a if isinstance(a, list | tuple) else [a])]


def _bracketed(name: str) -> str | None:
    """`test_x[GET /api/v4/files]` -> `GET /api/v4/files` (schemathesis items have no callspec)."""
    _, sep, rest = name.partition("[")
    return rest[:-1] if sep and rest.endswith("]") else None


def operation_of(item: pytest.Item) -> str | None:
    """The operationId the test exercises: its schemathesis operation, or its matrix row's."""
    from mmconform.operations import OPERATION_IDS

    try:
        from schemathesis.generation.hypothesis.builder import ApiOperationMark

        function: Any = getattr(item, "obj", None)
        operation = ApiOperationMark.get(function) if callable(function) else None
        raw = getattr(getattr(operation, "definition", None), "raw", None)
        if isinstance(raw, dict) and raw.get("operationId") in OPERATION_IDS:
            return str(raw["operationId"])
    except Exception:  # not a schemathesis test, or schemathesis moved it
        pass
    callspec = getattr(item, "callspec", None)
    head = callspec.id.split("[", 1)[0] if callspec is not None else ""
    return head if head in OPERATION_IDS else None


def _skip_outcome(reason: str) -> str:
    return NOT_APPLICABLE if reason.lower().startswith(NOT_APPLICABLE_PREFIX) else SKIPPED


class ResultsCollector:
    """Per-process state: the registry, and on the controller the records of every test."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.is_worker = hasattr(config, "workerinput")
        self.records: dict[str, TestRecord] = {}
        self.started_at = now_utc()
        self.written: tuple[Path, str] | None = None
        self.stopped: str | None = None
        self.registry, self.registry_info = self._load_registry()
        # Every process's requests and 429s (workers report theirs through xdist workeroutput).
        self.traffic = Traffic()
        # Tests left out of the collection (ours and pytest's -k/-m/--deselect), and kept.
        self.deselected = 0
        self.selected: int | None = None
        self.narrowed: str | None = None
        self.worker_selection: dict[str, Any] | None = None

    def _load_registry(self) -> tuple[Any, dict[str, Any]]:
        from mmconform.registry import default_path, load_registry

        given = self.config.getoption("mm_registry", default=None)
        path = Path(given) if given else default_path()
        info: dict[str, Any] = {"path": str(path), "sha256": file_sha256(path), "error": None}
        try:
            return load_registry(path), info
        except UsageError as exc:
            if given:  # the user asked for this file: a broken one is their input error
                raise pytest.UsageError(f"--mm-registry: {exc}") from None
            info["error"] = str(exc)
            return None, info

    def metas(self) -> dict[str, RequirementMeta]:
        return metas_from_registry(self.registry) if self.registry is not None else {}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            ids = [str(i) for m in item.iter_markers("requirement") for i in _flatten(m.args)]
            if ids:
                item.user_properties.append((REQUIREMENTS_PROPERTY, ",".join(dict.fromkeys(ids))))

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        """Label before any setup runs, so skipped and N/A tests are labelled too; title after
        it, because allure-pytest names the test when setup ends."""
        if self.registry is None or not self.config.pluginmanager.hasplugin("allure_listener"):
            return (yield)
        from mmconform.report.allure_dynamic import apply_labels, apply_title

        found = [v for k, v in item.user_properties if k == REQUIREMENTS_PROPERTY]
        ids = str(found[0]).split(",") if found else []
        apply_labels(self.registry, ids, operation_of(item))
        try:
            return (yield)
        finally:
            callspec = getattr(item, "callspec", None)
            function = str(getattr(item, "originalname", item.name))
            parts = [_bracketed(function), callspec.id if callspec is not None else None]
            case = ", ".join(p for p in parts if p) or None
            params = dict(callspec.params) if callspec is not None else {}
            label = getattr(item, "operation_label", None)
            if isinstance(label, str):  # schemathesis' operation, set by the fuzz modules too
                params["operation"] = label
            apply_title(self.registry, ids, function, case, params)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.selected = len(session.items)
        self.narrowed = self._narrowed(session)

    def _narrowed(self, session: pytest.Session) -> str | None:
        """What the positional arguments left out of the conformance folder the tests lie in."""
        from mmconform.report.testids import conformance_folder_of
        from mmconform.resources import conformance_dir
        from mmconform.selection import narrowed_by_arguments

        paths: list[Path] = getattr(self.config, _COLLECTED_ATTR, None) or []
        if not paths:
            return None
        folder = conformance_folder_of(paths[0], conformance_dir()).resolve()
        if folder not in paths[0].resolve().parents:  # not the suite: a user's own tests
            return None
        modules = sorted(folder.glob("test_*.py"))
        cwd = Path(self.config.invocation_params.dir)
        return narrowed_by_arguments(list(self.config.args), paths, modules, folder, cwd)

    def strict_policy(self) -> dict[str, Any] | None:
        """The --mm-strict policy (None: not strict); on by default for the certify profile."""
        from mmconform.capabilities import load_capabilities
        from mmconform.fuzz.profiles import load_fuzz_data
        from mmconform.selection import split_values

        strict = main_option(self.config, "mm_strict")
        if isinstance(strict, str):  # the environment twin, when the main plugin is absent
            strict = strict.strip().lower() in ("1", "true", "yes", "on")
        profile = self.config.getoption("mm_profile", default=None)
        if strict is None and profile:
            try:
                strict = load_fuzz_data().profile(str(profile)).strict
            except UsageError:
                strict = False
        if not strict:
            return None
        declared = main_option(self.config, "mm_declare")
        if isinstance(declared, str):
            declared = [declared]
        try:
            return load_capabilities().policy(split_values(declared))
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None

    def selection(self) -> dict[str, Any]:
        """What this run selected (mmconform.selection.SelectionFacts), from the collecting
        process: this one, or under xdist the first worker (they all collect the same)."""
        from mmconform.selection import SelectionFacts

        if self.worker_selection is not None:
            return self.worker_selection
        ours: dict[str, Any] = getattr(self.config, _SELECTION_ATTR, None) or {}
        selected = self.selected if self.selected is not None else len(self.records)
        by_us = int(ours.get("deselected") or 0)
        return SelectionFacts(
            collected=selected + self.deselected,
            selected=selected,
            criteria=dict(ours.get("criteria") or {}),
            deselected_by_pytest=max(0, self.deselected - by_us),
            narrowed=self.narrowed,
        ).as_json()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and not self.is_worker:
            from mmconform.report.testids import normalise

            nodeid = normalise(report.nodeid)
            self.records[nodeid] = TestRecord(
                nodeid=nodeid, outcome=ERROR, message=_failure_text(report)
            )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        record = self.records.setdefault(report.nodeid, TestRecord(nodeid=report.nodeid))
        for name, value in report.user_properties:
            if name == REQUIREMENTS_PROPERTY and not record.requirements:
                record.requirements = [i for i in str(value).split(",") if i]
        record.duration += report.duration
        if report.when == "teardown":
            if report.failed and record.outcome in (None, PASSED):
                record.outcome, record.message = ERROR, _failure_text(report)
            return
        if report.when == "setup" and report.passed:
            return
        self._settle(record, report)

    def _settle(self, record: TestRecord, report: pytest.TestReport) -> None:
        """The outcome of the phase that decided the test (a failing setup or the call)."""
        if hasattr(report, "wasxfail"):
            # A known deviation is still a deviation: an xfailed check did not pass.
            reason = _reason_of(report)
            if report.skipped:
                record.outcome = FAILED
                record.message = short_message(f"expected failure (xfail): {reason}")
            else:
                record.outcome = PASSED
        elif report.skipped:
            record.reason = _reason_of(report)
            record.outcome = _skip_outcome(record.reason)
        elif report.failed:
            record.outcome = ERROR if report.when == "setup" else FAILED
            record.message = _failure_text(report)
            record.named = bracketed_ids(report.longreprtext or "")
            from mmconform.exchanges import reference_in

            record.exchange = reference_in(report.longreprtext or "")
        else:
            record.outcome = PASSED

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        if isinstance(output.get(TRAFFIC_OUTPUT), dict):
            self.traffic.add(output[TRAFFIC_OUTPUT])
        if isinstance(output.get(SELECTION_OUTPUT), dict) and self.worker_selection is None:
            self.worker_selection = output[SELECTION_OUTPUT]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[TRAFFIC_OUTPUT] = TRAFFIC.as_dict()
            workeroutput[SELECTION_OUTPUT] = self.selection()
        allure_dir = getattr(self.config.option, "allure_report_dir", None)
        if allure_dir and not self.is_worker and not self.config.option.collectonly:
            from mmconform.report.allure_files import write_allure_files

            seed = self.config.getoption("mm_seed", default=None)
            write_allure_files(
                Path(allure_dir),
                target_url=main_option(self.config, "mm_url"),
                version=detected_version(self.config),
                profile=self.config.getoption("mm_profile", default=None),
                seed=int(seed) if seed is not None else None,
            )
        run_dir = self.config.getoption("mm_reports", default=None)
        # --collect-only ran nothing: an all-untested results.json would only mislead.
        if self.is_worker or not run_dir or self.config.option.collectonly:
            return
        self.write(Path(run_dir), interrupted=_interruption(session, self.stopped))

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Ctrl-C, and `pytest.exit` (a target that died mid-run) alike: the rest never ran."""
        if isinstance(excinfo.value, pytest.Session.Interrupted):
            return  # pytest's own stop after collection errors: those are judged as errors
        if isinstance(excinfo.value, KeyboardInterrupt):
            self.stopped = "interrupted (Ctrl-C)"
        else:
            self.stopped = f"stopped: {str(excinfo.value).splitlines()[0][:200]}"

    def pytest_unconfigure(self) -> None:
        """JUnit XML and allure results are complete now; take out the secrets they quote."""
        if self.is_worker:
            return
        from mmconform.report.scrub_files import scrub_run_dir

        scrubber = self._scrubber()
        for option in ("xmlpath", "allure_report_dir"):
            target = getattr(self.config.option, option, None)
            if target and Path(target).exists():
                scrub_run_dir(Path(target), scrubber)

    def _scrubber(self) -> Scrubber:
        return Scrubber(str(main_option(self.config, o) or "") for o in _SECRET_OPTIONS)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or self.written is None:
            return
        verdict = self.written[1]
        terminalreporter.write_line(
            f"mmconform: {self.written[0]} written ({verdict}); "
            f"summary: mmconform report {self.written[0].parent}"
        )
        terminalreporter.write_line(f"mmconform: {traffic_line(self.traffic.as_dict())}")
        if self.registry_info.get("error"):
            terminalreporter.write_line(
                f"mmconform: registry not loaded: {self.registry_info['error']}"
            )

    def _traffic(self) -> dict[str, Any]:
        """Workers' counts (arrived already) plus the controller's own requests."""
        total = Traffic()
        total.add(self.traffic.as_dict())
        total.add(TRAFFIC.as_dict())
        self.traffic = total
        return total.as_dict()

    def _shard(self, seed: Any) -> dict[str, Any] | None:
        """The slice's facts under `--mm-shard K/N` (report/shard.py), else None."""
        text = self.config.getoption("mm_shard", default=None)
        if not text:
            return None
        from mmconform.report.provenance import clean_url
        from mmconform.report.shard import parse_shard, slice_facts

        k, n = parse_shard(str(text), "--mm-shard")
        target = {
            "url": clean_url(main_option(self.config, "mm_url")),
            "version": detected_version(self.config),
        }
        profile = self.config.getoption("mm_profile", default=None)
        return slice_facts(
            k, n, seed=int(seed) if seed is not None else None, profile=profile, target=target
        )

    def write(self, run_dir: Path, interrupted: str | None = None) -> Path:
        seed = self.config.getoption("mm_seed", default=None)
        context = RunContext(
            target_url=main_option(self.config, "mm_url"),
            target_version=detected_version(self.config),
            profile=self.config.getoption("mm_profile", default=None),
            seed=int(seed) if seed is not None else None,
            started_at=self.started_at,
            finished_at=now_utc(),
            registry=self.registry_info,
            traffic=self._traffic(),
            selection=self.selection(),
            strict=self.strict_policy(),
            target_licence=getattr(self.config, "_mmconform_target_licence", None),
            shard=self._shard(seed),
        )
        document = build_results(
            list(self.records.values()), self.metas(), context, self._scrubber()
        )
        if interrupted is not None:
            # Tests that never ran are "untested", which reads like a real NOT CONFORMANT; an
            # interrupted run is no verdict at all (verify, diff and finalize refuse it).
            document["interrupted"] = interrupted
            document["summary"]["verdict"] = INTERRUPTED
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / RESULTS_NAME
        write_json(path, document)
        self.written = (path, str(document["summary"]["verdict"]))
        return path


def _interruption(session: pytest.Session, stopped: str | None) -> str | None:
    """Why the session stopped before running everything it collected, or None.

    A collection error is not an interruption: it is recorded as an erroring test and judged.
    """
    if stopped is not None:
        return stopped
    if session.shouldstop or session.shouldfail:  # -x / --maxfail, or a plugin's stop
        return f"stopped early: {session.shouldstop or session.shouldfail}"
    return None
