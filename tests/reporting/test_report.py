"""pytest_tipc.reporting.records, .matrix and .report: records through JSON and reports, and the support
matrix in the shape of the TIPC docs' tables (seeds 000 and 004)."""

from __future__ import annotations

import json
import os
import re
import stat
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pytest_tipc.model.record import (
    METRICS_PROPERTY,
    RECORD_PROPERTY,
    CellRecord,
    junit_properties,
    make_record,
    metrics_property,
    record_from_json,
    record_property,
    record_to_json,
)
from pytest_tipc.reporting.matrix import (
    FEATURES,
    SEED000_COLUMNS,
    build,
    card_column,
    feature_of,
    key_metrics,
    train_kind,
)
from pytest_tipc.reporting.records import RecordCollector, move_to_report, record_from_properties
from pytest_tipc.reporting.report import render_markdown, write_report

CFG = "test_tipc/configs/mobilenet_v3_small/train_infer_python.txt"
MODEL = "mobilenet_v3_small"
MODE = "lite_train_lite_infer"
OUT = f"test_tipc/output/{MODEL}/{MODE}"


def train(key: str, outcome: str, *, gpus: str = "-1", autocast: str = "null", trainer: str = "norm_train",
          nodes: str = "1", reason: str = "", log: str = "", **metrics: float) -> CellRecord:
    return make_record(config=CFG, model=MODEL, mode=MODE, kind="train", key=key, dialect="s32",
                       nodeid=f"{CFG}::train[{key}]",
                       fields={"gpus": gpus, "nodes": nodes, "autocast": autocast, "trainer": trainer},
                       outcome=outcome, reason=reason, log=log, metrics=metrics)


def infer(key: str, outcome: str, *, parent: str = "cpu-False-norm_train", device: str = "cpu", mkldnn: str = "",
          threads: str = "", trt: str = "", precision: str = "fp32", batch_size: str = "1", reason: str = "",
          log: str = "", **metrics: float) -> CellRecord:
    return make_record(config=CFG, model=MODEL, mode=MODE, kind="infer", key=key, parent=parent,
                       nodeid=f"{CFG}::infer[{key}]",
                       fields={"device": device, "mkldnn": mkldnn, "threads": threads, "trt": trt,
                               "precision": precision, "batch_size": batch_size},
                       outcome=outcome, reason=reason, log=log, metrics=metrics)


RECORDS = [
    train("cpu-False-norm_train", "passed", log=f"{OUT}/norm_train_gpus_-1_autocast_False_nodes_1.log",
          final_loss=2.0123, mean_ips=52.31),
    train("gpu0_1-False-norm_train", "skipped", gpus="0,1", reason="needs 2 GPUs, 0 visible"),
    train("nodes2-gpu0_1-False-fleet_train", "passed", gpus="127.0.0.1,127.0.0.1;0,1", nodes="2",
          trainer="fleet_train", log=f"{OUT}/fleet.log"),
    train("cpu-True-amp_train", "failed", autocast="True", trainer="amp_train", reason="training log x: no loss",
          log=f"{OUT}/amp.log"),
    train("cpu-False-pact_train", "passed", trainer="pact_train", log=f"{OUT}/pact.log"),
    infer("cpu-False-norm_train-cpu-mkldnn-t1-fp32-bs1", "passed", mkldnn="True", threads="1",
          log=f"{OUT}/python_infer_cpu_usemkldnn_True_threads_1_precision_fp32_batchsize_1.log",
          preprocess_ms=3.1, inference_ms=12.4, postprocess_ms=0.2, cpu_rss_mb=228.75),
    infer("cpu-False-norm_train-gpu-fp16-bs1", "skipped", device="gpu", trt="True", precision="fp16",
          reason="no GPU visible"),
    infer("cpu-False-norm_train-cpu-t1-fp32-bs4", "failed", threads="1", batch_size="4",
          reason="stored results differ for 2 of 10 images | see table", log=f"{OUT}/bs4.log"),
]


class TestRecords:
    def test_json_round_trip(self) -> None:
        record = RECORDS[5]
        assert record_from_json(record_to_json(record)) == record
        assert json.loads(record_to_json(record))["metrics"]["cpu_rss_mb"] == 228.75

    def test_defaults_and_normalisation(self) -> None:
        record = record_from_json({"model": "m", "fields": {"threads": 6, "trt": None}, "extra": 1})
        assert record["fields"] == {"threads": "6"}
        assert record["outcome"] == "" and record["metrics"] == {} and "extra" not in record
        with pytest.raises(ValueError, match="must be a JSON object, got list"):
            record_from_json("[]")

    def test_properties(self) -> None:
        props = [("other", 1), record_property(RECORDS[0]), metrics_property({"final_loss": 1.5, "mean_ips": None})]
        record = record_from_properties(props)
        assert record is not None and record["metrics"] == {"final_loss": 1.5, "mean_ips": None}
        assert props[1][0] == RECORD_PROPERTY and props[2][0] == METRICS_PROPERTY
        assert record_from_properties([("x", "y")]) is None

    def test_junit_properties_skip_missing_values(self) -> None:
        assert junit_properties({"final_loss": 1.5, "mean_ips": None, "preprocess_ms": 3.0}) == [
            ("tipc_final_loss", 1.5), ("tipc_preprocess_ms", 3.0)]

    def test_collector_with_real_reports(self, pytester: pytest.Pytester) -> None:
        """Outcomes come from the reports of every phase, as on an xdist controller."""
        pytester.makeconftest(textwrap.dedent(f"""
            import json, pytest
            from pytest_tipc.model.record import make_record, record_property, metrics_property
            from pytest_tipc.reporting.records import RecordCollector

            COLLECTOR = RecordCollector()

            def pytest_collection_modifyitems(items):
                for item in items:
                    base = make_record(config="c.txt", model="m", mode="{MODE}", kind="infer", key=item.name)
                    item.user_properties.append(record_property(base))

            def pytest_runtest_logreport(report):
                COLLECTOR.add(report)

            def pytest_sessionfinish(session):
                with open("records.json", "w") as handle:
                    json.dump(COLLECTOR.records(), handle)

            @pytest.fixture
            def broken():
                raise RuntimeError("fixture exploded")

            @pytest.fixture
            def bad_teardown():
                yield
                raise RuntimeError("teardown exploded")
        """))
        pytester.makepyfile(textwrap.dedent("""
            import pytest
            from pytest_tipc.model.record import metrics_property

            def test_pass(request):
                request.node.user_properties.append(metrics_property({"final_loss": 0.5}))

            def test_fail():
                pytest.fail("stored results differ for 1 of 3 images\\n  log: x")

            def test_skip():
                pytest.skip("no GPU visible")

            @pytest.mark.skip(reason="marked")
            def test_marked():
                pass

            def test_error(broken):
                pass

            def test_teardown(bad_teardown):
                pass

            @pytest.mark.xfail(reason="known")
            def test_xfail():
                assert False
        """))
        result = pytester.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(passed=2, failed=1, skipped=2, errors=2, xfailed=1)
        records = {r["key"]: r for r in json.loads((pytester.path / "records.json").read_text())}
        assert {k: (r["outcome"], r["reason"]) for k, r in records.items()} == {
            "test_pass": ("passed", ""),
            "test_fail": ("failed", "stored results differ for 1 of 3 images"),
            "test_skip": ("skipped", "no GPU visible"),
            "test_marked": ("skipped", "marked"),
            "test_error": ("error", "RuntimeError: fixture exploded"),
            "test_teardown": ("error", "RuntimeError: teardown exploded"),
            "test_xfail": ("xfailed", "known"),
        }
        assert records["test_pass"]["metrics"] == {"final_loss": 0.5}
        assert records["test_pass"]["nodeid"] == "test_collector_with_real_reports.py::test_pass"

    def test_collector_ignores_items_without_records(self) -> None:
        class Report:
            nodeid, when, outcome, longrepr, duration = "x", "call", "passed", None, 0.0

            def __init__(self) -> None:
                self.user_properties: list[tuple[str, object]] = []

        collector = RecordCollector()
        assert collector.add(Report()) is None and collector.records() == []


class TestClassification:
    @pytest.mark.parametrize(("fields", "column", "kind", "feature"), [
        ({"gpus": "-1", "trainer": "norm_train", "autocast": "null"}, "single-card", "train", "train"),
        ({"gpus": "0", "trainer": "norm_train", "autocast": "fp32"}, "single-card", "train", "train"),
        ({"gpus": "0,1", "trainer": "norm_train", "autocast": "null"}, "multi-card", "train", "multi-card"),
        ({"gpus": "10.0.0.1,10.0.0.2;0,1", "nodes": "2", "trainer": "fleet_train"}, "multi-node", "train",
         "multi-node"),
        ({"gpus": "0", "trainer": "norm_train", "autocast": "amp"}, "single-card", "amp", "amp"),
        ({"gpus": "-1", "trainer": "amp_train", "autocast": "True"}, "single-card", "amp", "amp"),
        ({"gpus": "0,1", "trainer": "pact_train", "autocast": "null"}, "multi-card", "pact", "pact"),
        ({"gpus": "0", "trainer": "fpgm_train", "autocast": "null"}, "single-card", "fpgm", "fpgm"),
    ])
    def test_train_cells(self, fields: dict[str, str], column: str, kind: str, feature: str) -> None:
        record = make_record(config=CFG, model=MODEL, mode=MODE, kind="train", key="k", fields=fields)
        assert (card_column(record), train_kind(record), feature_of(record)) == (column, kind, feature)

    def test_every_cell_kind_maps_to_a_seed_000_column(self) -> None:
        for kind in ("onnx", "ptq", "bench"):
            record = make_record(config=CFG, model=MODEL, mode=MODE, kind=kind, key="k")
            feature = feature_of(record)
            assert feature == kind and FEATURES[kind][0] in SEED000_COLUMNS
        assert feature_of(make_record(config=CFG, model=MODEL, mode=MODE, kind="model", key="k")) is None
        assert {column for column, _ in FEATURES.values()} == set(SEED000_COLUMNS)

    def test_key_metrics(self) -> None:
        assert key_metrics(RECORDS[0]) == "loss 2.012, ips 52.31"
        assert key_metrics(RECORDS[5]) == "pre/inf/post 3.1/12.4/0.2 ms, rss 228.8 MB"
        record = infer("k", "passed", gpu_rss_mb=1234.0, results_compared=10, results_failed=1)
        assert key_metrics(record) == "gpu 1234 MB, results 9/10 ok"
        assert key_metrics(RECORDS[1]) == ""


def with_logs(tmp_path: Path, records: list[CellRecord]) -> list[CellRecord]:
    """The records with their logs as files that exist (as after a real run: absolute paths)."""
    out = []
    for record in records:
        record = json.loads(json.dumps(record))
        if record["log"]:
            path = tmp_path / record["log"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("log\n")
            record["log"] = str(path)
        out.append(record)
    return out


class TestMatrix:
    def test_seed_tables(self, tmp_path: Path) -> None:
        records = with_logs(tmp_path, RECORDS)
        [matrix] = build(records, tmp_path / "docs")
        assert matrix.train_columns == ("single-card", "multi-card", "multi-node")
        training = matrix.training[MODEL]
        assert {c: {k: e.status for k, e in kinds.items()} for c, kinds in training.items()} == {
            "single-card": {"normal": "supported", "AMP": "failed", "PACT": "supported"},
            "multi-card": {"normal": "skipped"}, "multi-node": {"normal": "supported"}}
        assert training["single-card"]["normal"].link == f"../{OUT}/norm_train_gpus_-1_autocast_False_nodes_1.log"
        assert training["single-card"]["AMP"].link == f"../{OUT}/amp.log"
        assert training["multi-card"]["normal"].link == ""  # a skipped cell has no log
        devices, batches = matrix.inference[MODEL]
        assert {c: e.status for c, e in devices.items()} == {"device_CPU": "failed", "device_GPU": "skipped"}
        assert devices["device_CPU"].link == f"../{OUT}/bs4.log" and batches == ("1", "4")
        summary = matrix.summary[MODEL]
        assert {c: {k: e.status for k, e in kinds.items()} for c, kinds in summary.items()} == {
            "基础训练预测": {"训练 train": "supported", "Python 预测 inference": "failed"},
            "更多训练方式": {"单机多卡 multi-card": "skipped", "多机多卡 multi-node": "supported",
                        "混合精度 AMP": "failed"},
            "模型压缩": {"PACT量化 PACT": "supported"}}

    def test_markdown_has_the_seed_shape(self, tmp_path: Path) -> None:
        text = render_markdown(with_logs(tmp_path, RECORDS), tmp_path / "docs")
        lines = text.splitlines()
        assert lines[0] == "# TIPC support matrix"
        assert lines[2].startswith("Generated by pytest-tipc from 8 cells: 4 passed, 2 skipped, 2 failed.")
        assert "| 模型名称 | 基础训练预测 | 更多训练方式 | 模型压缩 | 其他预测部署 |" in lines
        assert "| 模型名称 | single-card | multi-card | multi-node |" in lines
        assert "| 模型名称 | device_CPU | device_GPU | batchsize |" in lines
        row = next(line for line in lines if line.startswith(f"| {MODEL} | normal: "))
        assert row == (f"| {MODEL} | normal: [supported](../{OUT}/norm_train_gpus_-1_autocast_False_nodes_1.log)"
                       f"<br>AMP: [failed](../{OUT}/amp.log)³<br>PACT: [supported](../{OUT}/pact.log) | "
                       f"normal: skipped² | normal: [supported](../{OUT}/fleet.log) |")
        # numbered notes, each reason once, in the order the tables (summary first) use them
        assert lines[lines.index("Notes:") + 2:lines.index("Notes:") + 6] == [
            "¹ stored results differ for 2 of 10 images \\| see table  ", "² needs 2 GPUs, 0 visible  ",
            "³ training log x: no loss  ", "⁴ no GPU visible  "]
        assert f"| {MODEL} | [failed](../{OUT}/bs4.log)¹ | skipped⁴ | 1, 4 |" in lines
        # per-cell detail, collapsed; skipped cells one line per reason
        assert "<details><summary>Per-cell detail</summary>" in lines and "</details>" in lines
        assert "- skipped ×1: needs 2 GPUs, 0 visible" in lines

    def test_links_point_to_files_that_exist(self, tmp_path: Path) -> None:
        records = with_logs(tmp_path, RECORDS)
        Path(records[2]["log"]).unlink()  # a log that is gone is not linked
        md, _ = write_report(records, tmp_path / "docs" / "support.md")
        cells = md.with_name("support.cells.md")
        assert "[support.cells.md](support.cells.md)" in md.read_text() and "<details>" not in md.read_text()
        for page in (md, cells):
            targets = re.findall(r"\]\(([^)]+)\)", page.read_text())
            assert targets and all((page.parent / t).is_file() for t in targets)
            assert "fleet.log" not in page.read_text()
        assert "| infer[cpu-False-norm_train-cpu-t1-fp32-bs4] | [failed](../" in cells.read_text()

    def test_write_report_json_and_permissions(self, tmp_path: Path) -> None:
        old = os.umask(0o022)
        try:
            md, js = write_report(with_logs(tmp_path, RECORDS), tmp_path / "docs" / "support.md")
        finally:
            os.umask(old)
        assert md == tmp_path / "docs" / "support.md" and js == tmp_path / "docs" / "support.json"
        for path in (md, js, md.with_name("support.cells.md")):
            assert stat.S_IMODE(path.stat().st_mode) == 0o644  # the umask's, not a temp file's 0600
        data = json.loads(js.read_text())
        assert data["version"] == 2 and data["summary"] == {"passed": 4, "skipped": 2, "failed": 2}
        assert [r["log"] for r in data["records"]][:2] == [f"../{OUT}/norm_train_gpus_-1_autocast_False_nodes_1.log", ""]
        assert data["matrix"][0]["mode"] == MODE


def test_move_to_report_keeps_the_record_out_of_junit() -> None:
    class Report:
        def __init__(self) -> None:
            self.user_properties = [record_property(RECORDS[0]), ("tipc_log", "/x.log"), metrics_property({"a": 1})]

    report: Any = Report()
    move_to_report(report)
    assert report.user_properties == [("tipc_log", "/x.log")]
    assert record_from_json(report.tipc_record) == RECORDS[0] and report.tipc_metrics == ['{"a": 1}']
    collector = RecordCollector()
    report.nodeid, report.when, report.outcome, report.longrepr, report.duration = "n", "call", "passed", None, 1.0
    [record] = [collector.add(report)]
    assert record is not None and record["metrics"] == {**RECORDS[0]["metrics"], "a": 1}


def test_bundled_model_report_stays_small(tmp_path: Path) -> None:
    """The bundled model's matrix, worst case (every cell of every config passed, each with a log),
    stays under 15 KB, and each of its links points to a file that exists."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    dry = tmp_path / "dry.md"
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--tipc-dry-run",
                           "--continue-on-collection-errors", "--tipc-progress", "0",
                           "--tipc-config", str(repo / "test_tipc" / "configs"), "--tipc-report", str(dry)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert dry.with_suffix(".json").is_file(), done.stdout[-3000:]
    records = json.loads(dry.with_suffix(".json").read_text())["records"]
    assert len(records) >= 130
    for index, record in enumerate(records):
        log = tmp_path / "logs" / f"{index}_{record['kind']}.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text("log\n")
        record["log"], record["outcome"] = str(log), "passed"
    md, _ = write_report(records, tmp_path / "docs" / "certification.md")
    assert md.stat().st_size < 15_000, md.stat().st_size
    for page in (md, md.with_name("certification.cells.md")):
        targets = re.findall(r"\]\(([^)]+)\)", page.read_text())
        assert targets and all((page.parent / t).is_file() for t in targets)


class TestOrder:
    """Reports follow the configs, then train before infer, then the cell ids, however the run was
    scheduled: the same results give the same files."""

    def test_collector_orders_by_config_kind_and_cell(self) -> None:
        class Report:
            def __init__(self, record: CellRecord) -> None:
                self.nodeid, self.when, self.outcome = record["nodeid"], "call", "passed"
                self.longrepr, self.duration = None, 0.0
                self.user_properties = [record_property(record)]

        other = make_record(config="a/train_infer_python.txt", model="a", mode=MODE, kind="infer", key="x-bs1",
                            nodeid="a/train_infer_python.txt::infer[x-bs1]")
        bs = [infer(f"cpu-False-norm_train-cpu-t1-fp32-bs{n}", "passed", batch_size=str(n)) for n in (16, 2, 1)]
        collector = RecordCollector()
        for record in [*bs, RECORDS[0], other]:  # completion order under -n 2: inference first
            collector.add(Report(record))
        assert [r["nodeid"].rsplit("::", 1)[1] for r in collector.records()] == [
            "infer[x-bs1]", "train[cpu-False-norm_train]", *(f"infer[cpu-False-norm_train-cpu-t1-fp32-bs{n}]"
                                                              for n in (1, 2, 16))]

    def test_xdist_and_serial_runs_write_the_same_report(self, pytester: pytest.Pytester) -> None:
        pytest.importorskip("xdist")
        from tests.support.tiny_repo import EIGHT, config, install, run

        install(pytester.path)
        (pytester.path / "images").mkdir()
        cfg = config(pytester, EIGHT)
        texts = []
        for name, workers in (("serial", []), ("xdist", ["-n", "2", "-p", "xdist"])):
            result = run(pytester, cfg, "--tipc-progress", "0", f"--tipc-report={name}/r.md", *workers,
                         subprocess=True)
            result.assert_outcomes(passed=9)
            files = [(pytester.path / name / f"r{suffix}").read_text() for suffix in (".md", ".cells.md")]
            records = json.loads((pytester.path / name / "r.json").read_text())["records"]
            timings = re.compile(r"\d+\.\d+")
            texts.append(([timings.sub("T", text) for text in files], [r["nodeid"] for r in records]))
        for one, other in zip(texts[0][0], texts[1][0]):
            assert one.splitlines() == other.splitlines()
        assert texts[0][1] == texts[1][1]
        keys = texts[0][1]
        assert keys[0].endswith("::train[cpu-null-norm_train]") and keys[-1].endswith("-cpu-t2-fp32-bs2]")
