"""pytest_tipc.reporting.records and pytest_tipc.reporting.report: records through JSON and reports, the terminal
summary, and the support matrix in the shape of the TIPC docs' tables."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pytest_tipc.reporting.records import (
    METRICS_PROPERTY,
    RECORD_PROPERTY,
    CellRecord,
    RecordCollector,
    junit_properties,
    make_record,
    metrics_property,
    record_from_json,
    record_from_properties,
    record_property,
    record_to_json,
)
from pytest_tipc.reporting.report import (
    build_matrix,
    infer_label,
    key_metrics,
    render_markdown,
    summary_lines,
    terminal_summary,
    train_column,
    write_report,
)

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
            from pytest_tipc.reporting.records import RecordCollector, make_record, record_property, metrics_property

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
            from pytest_tipc.reporting.records import metrics_property

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
    @pytest.mark.parametrize(("fields", "column"), [
        ({"gpus": "-1", "trainer": "norm_train", "autocast": "null"}, "single-card"),
        ({"gpus": "0", "trainer": "norm_train", "autocast": "fp32"}, "single-card"),
        ({"gpus": "0,1", "trainer": "norm_train", "autocast": "null"}, "multi-card"),
        ({"gpus": "10.0.0.1,10.0.0.2;0,1", "nodes": "2", "trainer": "fleet_train"}, "multi-node"),
        ({"gpus": "0", "trainer": "norm_train", "autocast": "amp"}, "AMP"),
        ({"gpus": "-1", "trainer": "amp_train", "autocast": "True"}, "AMP"),
        ({"gpus": "0,1", "trainer": "pact_train", "autocast": "null"}, "PACT"),
        ({"gpus": "0", "trainer": "fpgm_train", "autocast": "null"}, "FPGM"),
    ])
    def test_train_columns(self, fields: dict[str, str], column: str) -> None:
        record = make_record(config=CFG, model=MODEL, mode=MODE, kind="train", key="k", fields=fields)
        assert train_column(record) == column

    def test_infer_label_and_metrics(self) -> None:
        assert infer_label(RECORDS[5]) == "fp32 mkldnn t1"
        assert infer_label(RECORDS[6]) == "fp16 trt"
        assert key_metrics(RECORDS[0]) == "loss 2.012, ips 52.31"
        assert key_metrics(RECORDS[5]) == "pre/inf/post 3.1/12.4/0.2 ms, rss 228.8 MB"
        record = infer("k", "passed", gpu_rss_mb=1234.0, results_compared=10, results_failed=1)
        assert key_metrics(record) == "gpu 1234 MB, results 9/10 ok"
        assert key_metrics(RECORDS[1]) == ""


class TestTerminal:
    def test_one_table_per_config(self) -> None:
        other = make_record(config="test_tipc/configs/other/train_infer_python.txt", model="other", mode=MODE,
                            kind="train", key="cpu-null-norm_train", outcome="passed", log="o.log")
        lines = summary_lines([*RECORDS[:2], other])
        assert lines[0] == f"{CFG} [{MODE}]: 1 passed, 1 skipped"
        assert lines[1].split() == ["cell", "outcome", "metrics", "log"]
        assert lines[2].split() == ["train[cpu-False-norm_train]", "passed", "loss", "2.012,", "ips", "52.31",
                                    f"{OUT}/norm_train_gpus_-1_autocast_False_nodes_1.log"]
        assert "skipped (needs 2 GPUs, 0 visible)" in lines[3] and lines[3].endswith(" -")
        assert lines[4] == ""
        assert lines[5] == f"test_tipc/configs/other/train_infer_python.txt [{MODE}]: 1 passed"
        # columns line up
        assert lines[2].index("passed") == lines[3].index("skipped") == lines[1].index("outcome")

    def test_writes_under_a_separator(self) -> None:
        class Writer:
            def __init__(self) -> None:
                self.out: list[str] = []

            def write_sep(self, sep: str, title: str | None = None, **markup: bool) -> None:
                self.out.append(f"{sep * 3} {title} {sep * 3}")

            def write_line(self, line: str | bytes, **markup: bool) -> None:
                self.out.append(str(line))

        writer = Writer()
        terminal_summary(writer, [])
        assert writer.out == []
        terminal_summary(writer, RECORDS)
        assert writer.out[0] == "=== tipc summary ==="
        assert writer.out[1:] == summary_lines(RECORDS)


class TestMatrix:
    def test_training_and_inference_tables(self, tmp_path: Path) -> None:
        base, root = tmp_path / "docs", tmp_path
        matrix = build_matrix(RECORDS, base, root)
        [training] = matrix[MODE]["training"]
        assert training["model"] == MODEL
        assert {c: [(e["label"], e["outcome"]) for e in entries] for c, entries in training["columns"].items()} == {
            "single-card": [("cpu-False-norm_train", "passed")],
            "multi-card": [("gpu0_1-False-norm_train", "skipped")],
            "multi-node": [("nodes2-gpu0_1-False-fleet_train", "passed")],
            "AMP": [("cpu-True-amp_train", "failed")],
            "PACT": [("cpu-False-pact_train", "passed")],
            "FPGM": [],
        }
        assert training["columns"]["single-card"][0]["log"] == f"../{OUT}/norm_train_gpus_-1_autocast_False_nodes_1.log"
        rows = matrix[MODE]["inference"]
        assert [(r["batch_size"], [e["label"] for e in r["columns"]["device_CPU"]],
                 [e["label"] for e in r["columns"]["device_GPU"]]) for r in rows] == [
            ("1", ["fp32 mkldnn t1"], ["fp16 trt"]), ("4", ["fp32 t1"], [])]

    def test_markdown_has_the_seed_shape(self, tmp_path: Path) -> None:
        text = render_markdown(RECORDS, tmp_path / "docs", tmp_path)
        lines = text.splitlines()
        assert lines[0] == "# TIPC support matrix"
        assert "Generated by pytest-tipc from 8 cells: 3 passed, 2 skipped, 2 failed, 1 passed." not in text
        assert lines[2] == "Generated by pytest-tipc from 8 cells: 4 passed, 2 skipped, 2 failed."
        assert "| model | single-card | multi-card | multi-node | AMP | PACT | FPGM |" in lines
        assert "| model | device_CPU | device_GPU | batchsize |" in lines
        row = next(line for line in lines if line.startswith(f"| {MODEL} | **1 passed**<br>passed: [cpu-False-norm"))
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells == [
            MODEL,
            f"**1 passed**<br>passed: [cpu-False-norm_train](../{OUT}/norm_train_gpus_-1_autocast_False_nodes_1.log)",
            "**1 skipped**<br>skipped: needs 2 GPUs, 0 visible",
            f"**1 passed**<br>passed: [nodes2-gpu0_1-False-fleet_train](../{OUT}/fleet.log)",
            f"**1 failed**<br>failed: [cpu-True-amp_train](../{OUT}/amp.log) (training log x: no loss)",
            f"**1 passed**<br>passed: [cpu-False-pact_train](../{OUT}/pact.log)",
            "—",
        ]
        bs4 = next(line for line in lines if line.startswith(f"| {MODEL} | **1 failed**"))
        assert bs4 == (f"| {MODEL} | **1 failed**<br>failed: [fp32 t1](../{OUT}/bs4.log) (stored results differ for 2 "
                       "of 10 images \\| see table) | — | 4 |")
        assert f"### `{CFG}` ({MODE})" in lines
        assert (f"| infer[cpu-False-norm_train-cpu-mkldnn-t1-fp32-bs1] | passed | pre/inf/post 3.1/12.4/0.2 ms, "
                f"rss 228.8 MB | [log](../{OUT}/python_infer_cpu_usemkldnn_True_threads_1_precision_fp32_"
                "batchsize_1.log) |") in lines

    def test_write_report_and_json_beside_it(self, tmp_path: Path) -> None:
        md, js = write_report(RECORDS, tmp_path / "docs" / "support.md", root=tmp_path)
        assert md == tmp_path / "docs" / "support.md" and js == tmp_path / "docs" / "support.json"
        assert md.read_text() == render_markdown(RECORDS, md.parent.resolve(), tmp_path.resolve())
        data = json.loads(js.read_text())
        assert data["version"] == 1
        assert data["summary"] == {"passed": 4, "skipped": 2, "failed": 2}
        assert data["records"] == json.loads(json.dumps(RECORDS))
        assert data["matrix"] == json.loads(json.dumps(build_matrix(RECORDS, md.parent.resolve(),
                                                                    tmp_path.resolve())))

    def test_infer_labels_name_the_parent_when_several(self) -> None:
        records = [infer("a", "passed", parent="cpu-False-norm_train"),
                   infer("b", "passed", parent="cpu-False-pact_train", precision="int8")]
        [row] = build_matrix(records)[MODE]["inference"]
        assert [e["label"] for e in row["columns"]["device_CPU"]] == [
            "fp32 (cpu-False-norm_train)", "int8 (cpu-False-pact_train)"]

    def test_absolute_logs_and_no_base(self, tmp_path: Path) -> None:
        record = infer("a", "passed", log=str(tmp_path / "out" / "x.log"))
        [row] = build_matrix([record], tmp_path / "docs")[MODE]["inference"]
        assert row["columns"]["device_CPU"][0]["log"] == "../out/x.log"
        [row] = build_matrix([record])[MODE]["inference"]
        assert row["columns"]["device_CPU"][0]["log"] == (tmp_path / "out" / "x.log").as_posix()


def test_records_and_junit_metrics_survive_xdist(pytester: pytest.Pytester) -> None:
    """Under -n 2 the controller only sees reports: the record (JSON in user_properties) and the
    per-metric JUnit properties travel with them; the controller writes the report."""
    pytest.importorskip("xdist")
    pytester.makeconftest(textwrap.dedent(f"""
        import pytest
        from pytest_tipc.reporting.records import (RecordCollector, junit_properties, make_record, metrics_property,
                                            record_property)
        from pytest_tipc.reporting.report import write_report

        COLLECTOR = RecordCollector()

        def pytest_collection_modifyitems(items):
            for item in items:
                kind = "train" if "train" in item.name else "infer"
                item.user_properties.append(record_property(make_record(
                    config="c.txt", model="m", mode="{MODE}", kind=kind, key=item.name,
                    fields={{"gpus": "-1", "trainer": "norm_train", "device": "cpu", "batch_size": "1",
                             "precision": "fp32"}}, log=f"out/{{item.name}}.log")))

        @pytest.fixture
        def record_metrics(request):
            def record(**metrics):
                request.node.user_properties.append(metrics_property(metrics))
                request.node.user_properties.extend(junit_properties(metrics))
            return record

        def pytest_runtest_logreport(report):
            COLLECTOR.add(report)

        def pytest_sessionfinish(session):
            if not hasattr(session.config, "workerinput"):
                write_report(COLLECTOR.records(), "report.md", root=".")
    """))
    pytester.makepyfile(textwrap.dedent("""
        import pytest

        def test_train(record_metrics):
            record_metrics(final_loss=0.75, mean_ips=40.5)

        def test_infer(record_metrics):
            record_metrics(preprocess_ms=3.5, inference_ms=12.25, postprocess_ms=0.5, cpu_rss_mb=228.75,
                           gpu_rss_mb=None)
            pytest.fail("stored results differ for 1 of 2 images")
    """))
    result = pytester.runpytest_subprocess("-n", "2", "--junitxml=junit.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    import xml.etree.ElementTree as ET

    cases = {case.get("name"): {p.get("name") or "": p.get("value") for p in case.iter("property")}
             for case in ET.parse(pytester.path / "junit.xml").getroot().iter("testcase")}
    assert cases["test_train"]["tipc_final_loss"] == "0.75" and cases["test_train"]["tipc_mean_ips"] == "40.5"
    assert {k: v for k, v in cases["test_infer"].items() if k.startswith("tipc_") and k != "tipc_record"
            and k != "tipc_metrics"} == {"tipc_preprocess_ms": "3.5", "tipc_inference_ms": "12.25",
                                         "tipc_postprocess_ms": "0.5", "tipc_cpu_rss_mb": "228.75"}
    data = json.loads((pytester.path / "report.json").read_text())
    assert {r["key"]: (r["outcome"], r["reason"], r["metrics"].get("final_loss")) for r in data["records"]} == {
        "test_train": ("passed", "", 0.75),
        "test_infer": ("failed", "stored results differ for 1 of 2 images", None)}
    text = (pytester.path / "report.md").read_text()
    assert "| m | **1 passed**<br>passed: [test_train](out/test_train.log) | — | — | — | — | — |" in text
    assert "| m | **1 failed**<br>failed: [fp32](out/test_infer.log) (stored results differ for 1 of 2 images) | — | 1 |" in text
