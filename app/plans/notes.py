"""The 汇总 (summary with chart) and 说明 (notes) sheets of the plan workbook."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from app.assets.spec import CATEGORIES
from app.kit.sheets import print_setup
from app.plans.models import Plan
from app.rules.packs import get_registry, readable

STATUS_ZH = {"draft": "草稿", "approved": "已批准", "archived": "已归档"}
TARGET_STATUS_ZH = {"met": "已完成", "on_track": "计划可完成", "short": "计划不足"}
YEAR_HEADERS = (
    "年度", "条数", "金额(万元)", "预算(万元)", "差额(万元)", "资金缺口(万元)",
    "其中更新(万元)", "其中评估(万元)", "评估后或有更新(万元)",
)  # fmt: skip
CELL_HEADERS = (
    "年度", "类别", "条数", "数量", "计量单位", "金额(万元)", "预算(万元)",
    "逾期(条)", "超预算(条)", "晚于截止年度(条)", "其中评估(条)", "评估金额(万元)",
    "评估后或有更新(万元)",
)  # fmt: skip
SCHEDULING_RULES = (
    "强制性（mandatory）与需评估（assess）事项不晚于其截止年度安排；"
    "已逾期事项安排在首个计划年度并保留逾期标记；条件在计划期内才成立的事项不早于成立年度安排。",
    "同一年度内按截止日期、再按优先级评分排序。"
    "评分 = 级别分 + 条件成立以来年数×每年分（封顶）+ 类别权重，"
    "各部分见接口 /plans/{id}/lines 的 priority。",
    "年度预算不足时，能在截止年度内完成的最不紧迫事项顺延至以后年度；"
    "到截止年度预算仍不足的事项保留在截止年度，标记“超预算”并计入资金缺口（不会被删除）。",
    "截止日期晚于计划期的事项仅在预算有余时安排，未安排的计为“顺延至计划期后”。",
    "鼓励性（encouraged）事项在选择纳入时按评分填充剩余预算，不超预算安排。",
    "未提供预算时不设上限，各事项安排在最早可安排年度。",
    "项目按年度、类别、区县及地点归集：燃气管道按街道（地址首个数字前的文字，缺失时按小区），电梯、水泵按小区，"
    "锅炉按使用单位，钢瓶按充装站，环卫车辆按使用单位。",
)
LEGEND = "截止日期橙色底纹：已逾期（截止日期早于测算基准日）；金额红色：超预算或安排晚于截止年度。"


def write_summary(
    wb: Any, ws: Any, plan: Plan, data: dict[str, Any], targets: list[dict[str, Any]], fmt: Any
) -> None:
    """Year table with a cost/budget chart, the year × category table, shortfall and targets."""
    ws.set_column(0, 0, 10)
    ws.set_column(1, 9, 14)
    print_setup(ws, [10] + [14] * 9 + [72], repeat=(0, 1), **fmt["page"])  # the chart: ~72
    title = f"{plan.name}（第{plan.version}版，{STATUS_ZH[plan.status]}）"
    ws.write_string(0, 0, title, fmt["title"])
    region = fmt["page"]["region"]
    code = f"（{plan.region_prefix}）" if plan.region_prefix else ""
    scope = f"区划 {region}{code}；计划年度 {plan.first_year}—{plan.last_year}"
    ws.write_string(1, 0, f"{scope}；测算基准日 {plan.as_of}；金额单位：万元", fmt["text"])
    row = _year_table(ws, 3, data, fmt)
    _chart(wb, ws, plan, data, 3)
    row = _cell_table(ws, max(row + 2, 20), data, fmt)
    row = _shortfall_table(ws, row + 2, data, fmt)
    _target_table(ws, row + 2, targets, fmt)
    ws.freeze_panes(3, 0)


def _header(ws: Any, row: int, headers: tuple[str, ...], fmt: Any) -> None:
    """A header row."""
    for col, title in enumerate(headers):
        ws.write_string(row, col, title, fmt["head"])


def _cells(ws: Any, row: int, cells: tuple[tuple[Any, str], ...], fmt: Any) -> None:
    """Write a row of (value, format name) cells; None stays blank."""
    for col, (value, name) in enumerate(cells):
        if value is None:
            continue
        if isinstance(value, str):
            ws.write_string(row, col, value, fmt[name])
        elif isinstance(value, date):
            ws.write_datetime(row, col, value, fmt[name])
        else:
            ws.write_number(row, col, float(value), fmt[name])


def _year_table(ws: Any, row: int, data: dict[str, Any], fmt: Any) -> int:
    """Per year: count, cost, budget, gap, shortfall; then 合计. Returns the last row."""
    _header(ws, row, YEAR_HEADERS, fmt)
    for y in data["years"]:
        row += 1
        cells = ((y["year"], "int"), (y["count"], "int"), (y["cost"], "money"),
                 (y["budget"], "money"), (y["gap"], "money"),
                 (y["shortfall_cost"], "money"), (y["renewal_cost"], "money"),
                 (y["assessment_cost"], "money"), (y["contingent_cost"], "money"))  # fmt: skip
        _cells(ws, row, cells, fmt)
    row += 1
    ws.write_string(row, 0, "合计", fmt["bold"])
    ws.write_number(row, 1, data["line_count"], fmt["bold"])
    ws.write_number(row, 2, float(data["total_cost"]), fmt["money_bold"])
    ws.write_number(row, 6, float(data["renewal_cost"]), fmt["money_bold"])
    ws.write_number(row, 7, float(data["assessment_cost"]), fmt["money_bold"])
    ws.write_number(row, 8, float(data["contingent_cost"]), fmt["money_bold"])
    return row


def _chart(wb: Any, ws: Any, plan: Plan, data: dict[str, Any], header_row: int) -> None:
    """Column chart of planned cost (and budget) per year from the year table."""
    first, last = header_row + 1, header_row + len(data["years"])
    chart = wb.add_chart({"type": "column"})
    chart.add_series(
        {
            "name": "计划金额",
            "categories": ["汇总", first, 0, last, 0],
            "values": ["汇总", first, 2, last, 2],
        }
    )
    if plan.parameters.get("budgets") is not None:
        chart.add_series(
            {"name": "预算", "categories": ["汇总", first, 0, last, 0],
             "values": ["汇总", first, 3, last, 3]}
        )  # fmt: skip
    chart.set_title({"name": "分年度计划金额与预算（万元）"})
    chart.set_y_axis({"num_format": "#,##0"})
    chart.set_size({"width": 560, "height": 280})
    ws.insert_chart(header_row, 10, chart)


def _cell_table(ws: Any, row: int, data: dict[str, Any], fmt: Any) -> int:
    """The year × category table with an autofilter. Returns the last row."""
    top = row
    _header(ws, row, CELL_HEADERS, fmt)
    for c in data["summary"]:
        row += 1
        cells = ((c["year"], "int"), (c["label"], "text"), (c["count"], "int"),
                 (c["quantity"], "qty"), (c["unit"], "text"), (c["cost"], "money"),
                 (c["budget"], "money"), (c["overdue"], "int"), (c["beyond_budget"], "int"),
                 (c["late"], "int"), (c["assessments"], "int"),
                 (c["assessment_cost"], "money"), (c["contingent_cost"], "money"))  # fmt: skip
        _cells(ws, row, cells, fmt)
    ws.autofilter(top, 0, row, len(CELL_HEADERS) - 1)
    return row


def _shortfall_table(ws: Any, row: int, data: dict[str, Any], fmt: Any) -> int:
    """Lines that miss their deadline, by year and category. Returns the last row."""
    short = data["shortfall"]
    text = f"资金缺口：{short['count']} 条，{short['cost']:.2f} 万元（超预算或晚于截止年度）"
    ws.write_string(row, 0, text, fmt["bold"])
    row += 1
    _header(ws, row, ("年度", "类别", "条数", "金额(万元)", "最早截止", "最晚截止"), fmt)
    for item in short["items"]:
        row += 1
        cells = ((item["year"], "int"), (CATEGORIES[item["category"]], "text"),
                 (item["count"], "int"), (item["cost"], "money"),
                 (item["earliest_due_on"], "date"), (item["latest_due_on"], "date"))  # fmt: skip
        _cells(ws, row, cells, fmt)
    return row


def _target_table(ws: Any, row: int, targets: list[dict[str, Any]], fmt: Any) -> int:
    """Plan-level targets: target, achieved, planned, status. Returns the last row."""
    ws.write_string(row, 0, "规划目标核对", fmt["bold"])
    row += 1
    _header(ws, row, ("目标", "类别", "指标", "目标值", "截止", "已完成", "计划完成", "状态"), fmt)
    for t in targets:
        row += 1
        num = "pct" if t["metric"] == "renewal_rate" else "qty"
        cells = ((t["description"] or t["id"], "text"), (CATEGORIES[t["category"]], "text"),
                 (t["metric"], "text"), (t["target"], num), (t["by"], "date"),
                 (t["achieved"], num), (t["planned"], num),
                 (TARGET_STATUS_ZH[t["status"]], "text"))  # fmt: skip
        _cells(ws, row, cells, fmt)
    return row


def write_notes(
    ws: Any, plan: Plan, data: dict[str, Any], targets: list[dict[str, Any]], fmt: Any
) -> None:
    """Two columns (项目, 内容): versions, as_of, prices, budgets, assumptions, facts."""
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 110)
    print_setup(ws, [22, 110], **fmt["page"])
    ws.write_string(0, 0, "项目", fmt["head"])
    ws.write_string(0, 1, "内容", fmt["head"])
    ws.freeze_panes(1, 0)
    for r, (key, text) in enumerate(note_rows(plan, data, targets), start=1):
        ws.write_string(r, 0, key, fmt["text"])
        ws.write_string(r, 1, text, fmt["wrap"])


def note_rows(
    plan: Plan, data: dict[str, Any], targets: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """The notes as (topic, text) rows."""
    p, s = plan.parameters, plan.stats
    rows = [
        (
            "计划",
            f"{plan.name}，第{plan.version}版（{STATUS_ZH[plan.status]}），计划编号 {plan.id}",
        ),
        ("区划", plan.region_prefix or "全国"),
        ("计划年度", f"{plan.first_year}—{plan.last_year}"),
        ("测算基准日（as_of）", plan.as_of.isoformat()),
        ("台账评估日期", "—".join(s.get("flags_evaluated") or []) or "无"),
        ("设备类别", "、".join(CATEGORIES[c] for c in p["categories"])),
        ("纳入鼓励性事项", "是" if p["include_encouraged"] else "否"),
        ("纳入参考性依据事项", "否" if p.get("include_advisory") is False else "是（标“参考”）"),
        ("合计", f"{data['line_count']} 条，{data['total_cost']:.2f} 万元"),
        (
            "其中",
            f"更新 {data['renewal_cost']:.2f} 万元；评估 {data['assessment_cost']:.2f} 万元"
            f"（评估后可能需要的更新 {data['contingent_cost']:.2f} 万元，未计入合计和预算）",
        ),
    ]
    rows += _pack_rows(plan)
    rows += _price_rows(plan)
    rows += _budget_rows(plan)
    rows += [("排程规则", text) for text in SCHEDULING_RULES]
    rows.append(("标记说明", LEGEND))
    rows += _fact_rows(s)
    rows += [
        (
            f"目标 {t['id']}",
            f"{t['description']}；{t['basis']}；状态：{TARGET_STATUS_ZH[t['status']]}",
        )
        for t in targets
    ]
    return rows


def _pack_rows(plan: Plan) -> list[tuple[str, str]]:
    """Rule packs and versions, and the basis text of every rule used."""
    rows = []
    for pack_id, info in plan.packs.items():
        versions = "、".join(info.get("versions", []))
        rows.append((f"规则包 {pack_id}", f"{info.get('name', '')} 版本 {versions}"))
        marks = advisory_rules(plan, pack_id)
        rows += [
            (f"  {rid}", ("【参考】" if rid in marks else "") + readable(text))
            for rid, text in info.get("rules", {}).items()
        ]
    return rows or [("规则包", "无（本计划没有事项）")]


def advisory_rules(plan: Plan, pack_id: str) -> set[str]:
    """The plan's advisory rules of a pack (older plans did not record them: the loaded pack's)."""
    info = plan.packs.get(pack_id, {})
    if "advisory" in info:
        return set(info["advisory"])
    return {rid for p, rid in get_registry().advisory if p == pack_id}


def _price_rows(plan: Plan) -> list[tuple[str, str]]:
    """Prices in force (overrides marked) and the assumed quantities."""
    from app.plans.costs import load_cost_model

    model = load_cost_model()
    overridden = set(plan.parameters.get("unit_costs") or [])
    rows = [("单价来源", f"seed/costs.yaml 版本 {plan.parameters.get('cost_model_version')}；"
             "设备自有“更新单价”优先于下列单价")]  # fmt: skip
    for key, price in plan.parameters["prices"].items():
        category, _, variant = key.partition(".")
        unit = model.categories[category].unit if category in model.categories else ""
        label = CATEGORIES.get(category, category) + (f"（{variant}）" if variant else "")
        note = "（本计划调整）" if key in overridden else ""
        rows.append((f"单价 {label}", f"{Decimal(price):.4f} 万元/{unit}{note}"))
    for name, cat in model.categories.items():
        if cat.quantity != "units":
            rows.append(
                (
                    f"数量估算 {CATEGORIES[name]}",
                    f"缺少数量时按 {cat.default_quantity} {cat.unit} 估算",
                )
            )
    return rows


def _budget_rows(plan: Plan) -> list[tuple[str, str]]:
    """The budgets as given."""
    budgets = plan.parameters.get("budgets")
    if budgets is None:
        return [("预算", "未设定（不设上限）")]
    rows = []
    for year, value in budgets.items():
        if isinstance(value, dict):
            parts = "，".join(f"{CATEGORIES[c]} {Decimal(v):.2f}" for c, v in value.items())
            rows.append((f"预算 {year}", f"分类别：{parts or '无'}（未列类别为 0）万元"))
        else:
            rows.append((f"预算 {year}", f"{Decimal(value):.2f} 万元（各类别合计）"))
    return rows


def _fact_rows(stats: dict[str, Any]) -> list[tuple[str, str]]:
    """Scheduler facts: candidates, deferred, encouraged, late starters, data gaps."""
    deferred = stats.get("deferred", {})
    enc = stats.get("encouraged", {})
    return [
        ("候选事项", f"{stats.get('candidates', 0)} 项（按设备归并后）"),
        (
            "顺延至计划期后",
            f"{deferred.get('count', 0)} 项，{Decimal(deferred.get('cost', 0)):.2f} 万元",
        ),
        ("鼓励性事项", f"候选 {enc.get('candidates', 0)} 项，纳入 {enc.get('placed', 0)} 项"),
        ("计划期后才成立", f"{stats.get('beyond_horizon', 0)} 项（未纳入）"),
        ("数据缺口", f"{stats.get('data_gaps', 0)} 台设备存在无法判定的规则（缺少字段）"),
    ]
