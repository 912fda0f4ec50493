"""The plan workbook a bureau files (xlsxwriter, constant_memory): 汇总 with a chart, one sheet
per year listing every line, 项目, and 说明 (rule packs, as_of, prices, budgets, assumptions)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import xlsxwriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.scope import Principal
from app.assets.spec import CATEGORIES
from app.kit.sheets import print_setup
from app.plans import notes
from app.plans.models import Plan, PlanLine, PlanProject
from app.plans.notes import advisory_rules
from app.plans.queries import WORK_LABELS, project_totals, summary
from app.plans.store import region_names
from app.plans.targets import check_targets
from app.regions.queries import region_label
from app.rules.export import ADVISORY_MARK
from app.rules.packs import readable

LINE_HEADERS = (
    "序号", "设备编号", "类别", "区划", "地址", "依据条款", "截止日期", "计划年度",
    "单价", "金额", "资金来源", "实施主体", "责任单位", "计划开工", "计划完工",
    "工作内容", "评估后或有更新金额", "参考依据",
)  # fmt: skip
LINE_WIDTHS = (7, 24, 12, 20, 32, 48, 12, 9, 10, 12, 16, 26, 24, 10, 10, 9, 12, 9)
PROJECT_HEADERS = (
    "序号", "项目名称", "计划年度", "类别", "区划", "地点", "实施主体", "责任单位",
    "资金来源", "计划开工", "计划完工", "条数", "数量", "金额",
)  # fmt: skip
PROJECT_WIDTHS = (7, 44, 9, 12, 20, 24, 26, 24, 16, 10, 10, 8, 12, 14)
LINE_COLUMNS = (
    PlanLine.year, PlanLine.asset_code, PlanLine.category, PlanLine.region_code,
    PlanLine.address, PlanLine.pack_id, PlanLine.rule_ids, PlanLine.due_on, PlanLine.unit_cost,
    PlanLine.amount, PlanLine.funding_source, PlanLine.project_id, PlanLine.beyond_budget,
    PlanLine.work, PlanLine.contingent_amount, PlanLine.advisory,
)  # fmt: skip
Formats = dict[str, Any]


def export_plan(session: Session, principal: Principal, plan: Plan, path: str) -> None:
    """Write the plan workbook to `path`."""
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    wb.set_properties({"title": plan.name, "subject": "设备更新年度计划", "company": "住建局"})
    fmt = _formats(wb)
    fmt["page"] = {
        "title": f"{plan.name}（第{plan.version}版）",
        "region": region_label(session, plan.region_prefix),
        "as_of": plan.as_of,
    }
    data = summary(session, plan)
    targets = check_targets(session, principal, plan)
    notes.write_summary(wb, wb.add_worksheet("汇总"), plan, data, targets, fmt)
    years = {y: wb.add_worksheet(f"{y}年") for y in range(plan.first_year, plan.last_year + 1)}
    projects = {
        p.id: p for p in session.scalars(select(PlanProject).where(PlanProject.plan_id == plan.id))
    }
    names = region_names(session, {p.region_code for p in projects.values()})
    _write_lines(session, plan, years, projects, names, fmt)
    _write_projects(session, plan, wb.add_worksheet("项目"), projects, names, fmt)
    notes.write_notes(wb.add_worksheet("说明"), plan, data, targets, fmt)
    wb.close()


def _formats(wb: Any) -> Formats:
    """Cell formats: header, text, integers, 万元 with 2 decimals, dates, months."""
    base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
    head = {**base, "bold": True, "bg_color": "#DDEBF7", "border": 1, "align": "center"}
    money = "#,##0.00"
    return {
        "title": wb.add_format({**base, "bold": True, "font_size": 14}),
        "head": wb.add_format({**head, "text_wrap": True}),
        "text": wb.add_format(base),
        "wrap": wb.add_format({**base, "text_wrap": True}),
        "int": wb.add_format({**base, "num_format": "0"}),
        "money": wb.add_format({**base, "num_format": money}),
        "money_red": wb.add_format({**base, "num_format": money, "font_color": "#C00000"}),
        "money_bold": wb.add_format({**base, "num_format": money, "bold": True, "top": 1}),
        "qty": wb.add_format({**base, "num_format": "#,##0.##"}),
        "date": wb.add_format({**base, "num_format": "yyyy-mm-dd"}),
        "date_overdue": wb.add_format({**base, "num_format": "yyyy-mm-dd", "bg_color": "#FCE4D6"}),
        "month": wb.add_format({**base, "num_format": "yyyy-mm"}),
        "bold": wb.add_format({**base, "bold": True, "top": 1}),
        "pct": wb.add_format({**base, "num_format": "0.0%"}),
    }


WRAPPED = {"地址", "依据条款", "项目名称", "地点", "实施主体", "责任单位"}
"""Columns of long text, wrapped in the cell and on the printed page."""


def setup_sheet(ws: Any, headers: tuple[str, ...], widths: tuple[int, ...], fmt: Formats) -> None:
    """Header row, widths (long texts wrapped), frozen header, print setup
    (`print_setup`: A4, landscape, one page wide, the header row on every page)."""
    for col, (title, width) in enumerate(zip(headers, widths, strict=True)):
        ws.set_column(col, col, width, fmt["wrap"] if title in WRAPPED else None)
        ws.write_string(0, col, title, fmt["head"])
    ws.set_row(0, 24)
    ws.freeze_panes(1, 0)
    print_setup(ws, widths, **fmt["page"])


def _month(value: str) -> date:
    """'YYYY-MM' as the first day of that month."""
    year, month = value.split("-")
    return date(int(year), int(month), 1)


def _stream(session: Session, plan: Plan) -> Iterator[Any]:
    """The plan's lines in sheet order (year, rank), a chunk at a time."""
    stmt = (
        select(*LINE_COLUMNS)
        .where(PlanLine.plan_id == plan.id)
        .order_by(PlanLine.year, PlanLine.rank)
        .execution_options(yield_per=10_000)
    )
    for partition in session.connection().execute(stmt).partitions():
        yield from partition


def _write_lines(
    session: Session,
    plan: Plan,
    sheets: dict[int, Any],
    projects: dict[int, PlanProject],
    names: dict[str, str],
    fmt: Formats,
) -> None:
    """One row per line on its year's sheet, then a total row and an autofilter per sheet."""
    for ws in sheets.values():
        setup_sheet(ws, LINE_HEADERS, LINE_WIDTHS, fmt)
    rows = dict.fromkeys(sheets, 0)
    totals = dict.fromkeys(sheets, Decimal(0))
    writer = _LineWriter(plan, projects, names, fmt)
    for line in _stream(session, plan):
        r = rows[line.year] = rows[line.year] + 1
        totals[line.year] += line.amount
        writer.write(sheets[line.year], r, line)
    for year, ws in sheets.items():
        _total_row(ws, rows[year], totals[year], fmt)


EXCEL_EPOCH = date(1899, 12, 30)


class _LineWriter:
    """Writes line rows; formats, names, basis texts, project cells and dates resolve once.

    Dates are written as Excel serial numbers with a date format (what write_datetime stores),
    converted once per distinct date: the sheets hold 200,000 rows of a few hundred dates.
    """

    def __init__(
        self, plan: Plan, projects: dict[int, PlanProject], names: dict[str, str], fmt: Formats
    ) -> None:
        """Resolve what every row repeats once."""
        self.plan, self.names, self.fmt = plan, names, fmt
        self.basis = _basis_lookup(plan)
        self.serials: dict[date, int] = {}
        self.projects = {
            pid: (p.funding_source, p.implementation_subject, p.responsible_unit,
                  self.serial(_month(p.start_month)), self.serial(_month(p.finish_month)))
            for pid, p in projects.items()
        }  # fmt: skip

    def serial(self, day: date) -> int:
        """Excel's serial day number of a date (memoised)."""
        found = self.serials.get(day)
        if found is None:
            found = self.serials[day] = (day - EXCEL_EPOCH).days
        return found

    def write(self, ws: Any, r: int, line: Any) -> None:
        """One line row (see LINE_HEADERS)."""
        fmt, plan, text, number = self.fmt, self.plan, ws.write_string, ws.write_number
        funding, subject, unit, start, finish = self.projects[line.project_id]
        missed = line.beyond_budget or line.year > max(line.due_on.year, plan.first_year)
        overdue = line.due_on < plan.as_of
        number(r, 0, r, fmt["int"])
        text(r, 1, line.asset_code, fmt["text"])
        text(r, 2, CATEGORIES[line.category], fmt["text"])
        text(r, 3, self.names.get(line.region_code, line.region_code), fmt["text"])
        if line.address:
            text(r, 4, line.address, fmt["wrap"])
        text(r, 5, self.basis(line.pack_id, line.rule_ids), fmt["wrap"])
        number(r, 6, self.serial(line.due_on), fmt["date_overdue" if overdue else "date"])
        number(r, 7, line.year, fmt["int"])
        number(r, 8, float(line.unit_cost), fmt["money"])
        number(r, 9, float(line.amount), fmt["money_red" if missed else "money"])
        text(r, 10, line.funding_source or funding, fmt["text"])
        text(r, 11, subject, fmt["text"])
        text(r, 12, unit, fmt["text"])
        number(r, 13, start, fmt["month"])
        number(r, 14, finish, fmt["month"])
        text(r, 15, WORK_LABELS[line.work], fmt["text"])
        if line.contingent_amount is not None:
            number(r, 16, float(line.contingent_amount), fmt["money"])
        if line.advisory:
            text(r, 17, "参考", fmt["text"])


def _basis_lookup(plan: Plan) -> Any:
    """依据条款 of a line from its rule ids (memoised: few distinct combinations): each rule's
    document and clause, 【参考】 before an advisory one."""
    cache: dict[tuple[str, str], str] = {}

    def lookup(pack_id: str, rule_ids: str) -> str:
        """The citations of a line's rules, joined."""
        key = (pack_id, rule_ids)
        if key not in cache:
            marks = advisory_rules(plan, pack_id)
            texts = plan.packs.get(pack_id, {}).get("rules", {})
            cache[key] = "；".join(
                (ADVISORY_MARK if r in marks else "") + readable(texts.get(r, r))
                for r in rule_ids.split(",")
                if r
            )
        return cache[key]

    return lookup


def _total_row(ws: Any, last: int, total: Decimal, fmt: Formats) -> None:
    """合计 row (line count, SUM formula with its value) and the sheet's autofilter."""
    r = last + 1
    ws.write_string(r, 1, "合计", fmt["bold"])
    ws.write_number(r, 7, last, fmt["bold"])
    formula = f"=SUM(J2:J{last + 1})" if last else "=0"
    ws.write_formula(r, 9, formula, fmt["money_bold"], float(total))
    ws.autofilter(0, 0, max(last, 1), len(LINE_HEADERS) - 1)


def _write_projects(
    session: Session,
    plan: Plan,
    ws: Any,
    projects: dict[int, PlanProject],
    names: dict[str, str],
    fmt: Formats,
) -> None:
    """The 项目 sheet: one row per project with its line count, quantity and cost."""
    setup_sheet(ws, PROJECT_HEADERS, PROJECT_WIDTHS, fmt)
    totals = project_totals(session, plan)
    ordered = sorted(projects.values(), key=lambda p: p.key)
    for r, p in enumerate(ordered, start=1):
        t = totals.get(p.id, {"lines": 0, "quantity": Decimal(0), "cost": Decimal(0)})
        values = (r, p.name, p.year, CATEGORIES[p.category], names.get(p.region_code, ""),
                  p.label, p.implementation_subject, p.responsible_unit,
                  p.funding_source)  # fmt: skip
        for col, value in enumerate(values):
            ws.write(r, col, value, fmt["int" if col in (0, 2) else "text"])
        ws.write_datetime(r, 9, _month(p.start_month), fmt["month"])
        ws.write_datetime(r, 10, _month(p.finish_month), fmt["month"])
        ws.write_number(r, 11, t["lines"], fmt["int"])
        ws.write_number(r, 12, float(t["quantity"]), fmt["qty"])
        ws.write_number(r, 13, float(t["cost"]), fmt["money"])
    ws.autofilter(0, 0, max(len(ordered), 1), len(PROJECT_HEADERS) - 1)
