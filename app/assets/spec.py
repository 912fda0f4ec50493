"""The column spec: every ledger field, its type, Chinese header, header variants and enum labels.

One spec drives the API schemas, the import header mapping, the survey template, the ledger export
and the error workbook, so an export is always a valid import (DOMAIN.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.kit.values import norm

Kind = Literal["text", "date", "int", "decimal", "bool", "enum"]

CATEGORIES: dict[str, str] = {
    "elevator": "电梯",
    "water_pump": "水泵",
    "boiler": "锅炉",
    "gas_pipe": "燃气管道",
    "lpg_cylinder": "液化石油气钢瓶",
    "sanitation_vehicle": "环卫车辆",
}
CATEGORY_VARIANTS: dict[str, list[str]] = {
    "elevator": ["电梯", "住宅电梯", "老旧电梯", "elevator", "lift"],
    "water_pump": ["水泵", "供水泵", "二次供水设备", "水泵机组", "water_pump", "pump"],
    "boiler": ["锅炉", "燃煤锅炉", "供热锅炉", "boiler"],
    "gas_pipe": ["燃气管道", "燃气管网", "管道", "燃气管线", "gas_pipe", "pipe"],
    "lpg_cylinder": ["液化石油气钢瓶", "钢瓶", "液化气钢瓶", "气瓶", "lpg_cylinder", "cylinder"],
    "sanitation_vehicle": ["环卫车辆", "环卫车", "环卫作业车", "sanitation_vehicle", "vehicle"],
}


@dataclass(frozen=True)
class FieldSpec:
    """One ledger field: name, type, Chinese header, and how spreadsheets spell it."""

    name: str
    label: str
    kind: Kind
    categories: tuple[str, ...] = ()
    """Empty: common to every category."""
    unit: str | None = None
    required: bool = False
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Enum code → labels; the first label is the canonical Chinese one."""
    aliases: tuple[str, ...] = ()
    """Other header spellings seen in district workbooks."""
    max_length: int = 200
    minimum: float | None = 0
    maximum: float | None = None
    note: str = ""

    @property
    def header(self) -> str:
        """Header as written in templates and exports: label plus unit in brackets."""
        return f"{self.label}({self.unit})" if self.unit else self.label

    def applies_to(self, category: str) -> bool:
        return not self.categories or category in self.categories


def _f(name: str, label: str, kind: Kind, *cats: str, **kw: object) -> FieldSpec:
    return FieldSpec(name, label, kind, tuple(cats), **kw)  # type: ignore[arg-type]


YES_NO = {"true": ("是",), "false": ("否",)}

COMMON: list[FieldSpec] = [
    _f(
        "asset_code",
        "设备编号",
        "text",
        required=True,
        max_length=64,
        aliases=(
            "编号",
            "设备代码",
            "注册代码",
            "使用登记证编号",
            "钢瓶编号",
            "车牌号码",
            "管段编号",
            "资产编号",
        ),
    ),
    _f(
        "category",
        "设备类别",
        "enum",
        required=True,
        choices={k: (v,) for k, v in CATEGORIES.items()},
        aliases=("类别", "设备类型", "设备种类"),
    ),
    _f(
        "region_code",
        "行政区划代码",
        "text",
        required=True,
        max_length=6,
        aliases=("区划代码", "行政区划", "区划编码", "行政区代码"),
    ),
    _f("name", "设备名称", "text", aliases=("名称",)),
    _f("address", "地址", "text", aliases=("详细地址", "安装地址", "所在地址", "位置")),
    _f("community", "小区", "text", aliases=("小区名称", "所属小区", "社区")),
    _f("building", "楼栋", "text", max_length=64, aliases=("楼号", "栋号")),
    _f("unit", "单元", "text", max_length=64, aliases=("单元号",)),
    _f("owner", "产权单位", "text", aliases=("产权人", "所有权单位", "业主单位")),
    _f("operator", "使用单位", "text", aliases=("运营单位", "使用单位/运营单位", "管理单位")),
    _f(
        "commissioned_on",
        "投入使用日期",
        "date",
        aliases=(
            "使用日期",
            "投用时间",
            "投用日期",
            "投入使用时间",
            "启用日期",
            "安装日期",
            "建成年份",
            "投运日期",
        ),
    ),
    _f(
        "manufactured_on",
        "出厂日期",
        "date",
        aliases=("制造日期", "生产日期", "出厂年月", "制造年月"),
    ),
    _f("standard", "执行标准", "text", max_length=64, aliases=("产品标准", "标准")),
    _f(
        "design_life_years",
        "设计使用年限",
        "int",
        unit="年",
        maximum=100,
        aliases=("设计寿命", "使用年限"),
    ),
    _f(
        "last_inspection_on",
        "最近检验日期",
        "date",
        aliases=("检验日期", "上次检验日期", "最近一次检验日期"),
    ),
    _f(
        "inspection_result",
        "检验结论",
        "enum",
        choices={"pass": ("合格", "通过"), "fail": ("不合格", "未通过")},
        aliases=("检验结果",),
    ),
    _f(
        "status",
        "状态",
        "enum",
        choices={
            "in_service": ("在用", "使用中", "在役"),
            "renewing": ("更新中", "改造中"),
            "renewed": ("已更新", "已改造"),
            "retired": ("已报废", "报废", "停用"),
        },
        aliases=("设备状态", "使用状态"),
    ),
    _f("surveyed_on", "普查日期", "date", aliases=("调查日期", "排查日期", "填报日期")),
    _f("unit_cost", "更新单价", "decimal", unit="万元", aliases=("单价", "更新费用", "预计单价")),
]

ASSESSMENT_ELEVATOR = {
    "safe": ("合格", "通过", "安全"),
    "repair": ("大修",),
    "modernize": ("改造",),
    "renew": ("更新",),
}
ASSESSMENT_GAS = {
    "safe": ("可继续使用", "安全"),
    "hazard": ("存在安全隐患", "有隐患", "隐患"),
    "not_allowed": ("不允许使用", "不可使用", "禁止使用"),
}

CATEGORY_FIELDS: list[FieldSpec] = [
    # elevator
    _f(
        "building_use",
        "使用场所",
        "enum",
        "elevator",
        choices={"residential": ("住宅",), "commercial": ("商业",), "public": ("公共", "公共建筑")},
        aliases=("场所类型", "使用场所类别"),
    ),
    _f(
        "elevator_kind",
        "电梯类型",
        "enum",
        "elevator",
        choices={
            "traction": ("曳引", "曳引式", "曳引驱动乘客电梯"),
            "hydraulic": ("液压", "液压式"),
            "escalator": ("自动扶梯", "扶梯"),
            "other": ("其他",),
        },
        aliases=("电梯品种", "梯种"),
    ),
    _f("floors", "层站数", "int", "elevator", aliases=("层数", "层站")),
    _f("rated_load_kg", "额定载重量", "int", "elevator", unit="kg", aliases=("载重量", "额定载重")),
    _f("rated_speed_mps", "额定速度", "decimal", "elevator", unit="m/s", aliases=("速度",)),
    _f(
        "faults_12m",
        "近12个月故障次数",
        "int",
        "elevator",
        "sanitation_vehicle",
        aliases=("故障次数", "年故障次数"),
    ),
    _f(
        "scrap_conditions_met",
        "符合GB/T 31821报废条件",
        "bool",
        "elevator",
        aliases=("符合报废条件", "报废条件"),
    ),
    _f(
        "assessment_result",
        "安全评估结论",
        "enum",
        "elevator",
        "gas_pipe",
        choices={**ASSESSMENT_GAS, **ASSESSMENT_ELEVATOR},
        # the labels differ by category (elevator 合格, gas pipe 可继续使用): CATEGORY_LABELS
        aliases=("评估结论", "老化评估结论", "评估结果", "安全评估结果"),
    ),
    _f("assessed_on", "评估日期", "date", "elevator", "gas_pipe", aliases=("安全评估日期",)),
    _f("owners_agree", "业主同意更新", "bool", "elevator", aliases=("业主意愿", "业主是否同意")),
    # water_pump
    _f(
        "setting",
        "使用场所",
        "enum",
        "water_pump",
        choices={
            "water_plant": ("自来水厂", "水厂"),
            "secondary_supply": ("二次供水", "二次供水泵房"),
            "sewage_plant": ("污水处理厂", "污水厂"),
            "heating": ("供热", "供热站", "换热站"),
        },
        aliases=("场所", "设置场所"),
    ),
    _f(
        "rated_power_kw",
        "额定功率",
        "decimal",
        "water_pump",
        unit="kW",
        aliases=("功率", "电机功率"),
    ),
    _f(
        "efficiency_grade",
        "能效等级",
        "enum",
        "water_pump",
        "boiler",
        choices={
            "1": ("1级", "一级"),
            "2": ("2级", "二级"),
            "3": ("3级", "三级"),
            "below_limit": ("未达限定值",),
            "below_3": ("未达3级", "未达三级"),
        },
        aliases=("能效", "能效水平"),
    ),
    _f(
        "on_elimination_list",
        "列入淘汰目录",
        "bool",
        "water_pump",
        "boiler",
        aliases=("是否列入淘汰目录", "淘汰目录"),
    ),
    _f("affects_water_quality", "影响水质", "bool", "water_pump", aliases=("是否影响水质",)),
    _f("damaged", "老旧破损", "bool", "water_pump", aliases=("是否破损", "破损")),
    # boiler
    _f(
        "fuel",
        "燃料",
        "enum",
        "boiler",
        "sanitation_vehicle",
        choices={
            "coal": ("燃煤", "煤"),
            "gas": ("燃气",),
            "oil": ("燃油",),
            "biomass": ("生物质",),
            "electric": ("电", "电锅炉", "纯电", "纯电动", "电动", "新能源"),
            "diesel": ("柴油", "柴油车"),
            "gasoline": ("汽油",),
            "natural_gas": ("天然气", "CNG", "LNG"),
            "hybrid": ("混合动力", "油电混合"),
            "hydrogen": ("氢燃料", "氢能"),
        },
        aliases=("燃料类型", "能源类型", "动力类型", "燃料种类"),
    ),
    _f(
        "capacity_tph",
        "额定蒸发量",
        "decimal",
        "boiler",
        unit="蒸吨/小时",
        aliases=("蒸发量", "额定出力", "容量", "额定容量"),
    ),
    _f("emissions_compliant", "排放达标", "bool", "boiler", aliases=("排放是否达标",)),
    # gas_pipe
    _f(
        "material",
        "管材",
        "enum",
        "gas_pipe",
        choices={
            "grey_cast_iron": ("灰口铸铁", "灰铸铁"),
            "ductile_iron": ("球墨铸铁", "球铁"),
            "steel": (
                "钢",
                "钢管",
                "钢质",
                "镀锌钢管",
                "镀锌管",
                "焊接钢管",
                "无缝钢管",
                "螺旋钢管",
                "螺旋焊管",
                "直缝钢管",
            ),
            "pe": ("聚乙烯", "PE", "PE管", "聚乙烯管", "PE100", "PE80", "PE100管", "PE80管"),
            "other": ("其他",),
        },
        aliases=("管道材质", "材质"),
    ),
    _f(
        "pipe_level",
        "管道类别",
        "enum",
        "gas_pipe",
        choices={
            "municipal": ("市政", "市政管道"),
            "courtyard": ("庭院", "庭院管道"),
            "riser": ("立管", "户内立管"),
        },
        aliases=("管道类型", "管线类别"),
    ),
    _f("length_m", "长度", "decimal", "gas_pipe", unit="米", aliases=("管道长度", "管长")),
    _f("diameter_mm", "管径", "int", "gas_pipe", unit="mm", aliases=("公称直径", "口径")),
    _f(
        "pressure_class",
        "压力级制",
        "enum",
        "gas_pipe",
        choices={"low": ("低压",), "medium": ("中压",), "sub_high": ("次高压",), "high": ("高压",)},
        aliases=("压力级别", "压力等级"),
    ),
    _f(
        "converted_from_other_gas",
        "原输送其他气体",
        "bool",
        "gas_pipe",
        aliases=("是否原输送其他气体",),
    ),
    _f("severe_corrosion", "严重锈蚀", "bool", "gas_pipe", aliases=("是否严重锈蚀", "锈蚀")),
    _f("crosses_enclosed_space", "穿越密闭空间", "bool", "gas_pipe", aliases=("是否穿越密闭空间",)),
    _f(
        "safety_distance_ok",
        "安全间距符合",
        "bool",
        "gas_pipe",
        aliases=("安全间距是否符合", "安全间距"),
    ),
    # lpg_cylinder
    _f(
        "model",
        "型号",
        "enum",
        "lpg_cylinder",
        choices={
            "YSP4.7": ("YSP4.7", "YSP-4.7", "YSP-2", "YSP2"),
            "YSP12": ("YSP12", "YSP-12", "YSP-5", "YSP5"),
            "YSP26.2": ("YSP26.2", "YSP-26.2", "YSP-10", "YSP10"),
            "YSP35.5": ("YSP35.5", "YSP-35.5", "YSP-15", "YSP15"),
            "YSP118": ("YSP118", "YSP-118", "YSP-50", "YSP50"),
            "YSP118-II": ("YSP118-II", "YSP118-Ⅱ"),
        },
        aliases=("钢瓶型号", "规格型号"),
    ),
    _f("life_extended_until", "延期使用至", "date", "lpg_cylinder", aliases=("延期使用期限",)),
    _f(
        "phase",
        "相态",
        "enum",
        "lpg_cylinder",
        choices={"gas": ("气相",), "liquid": ("液相",), "dual": ("气液双相", "双相")},
        aliases=("气相/液相",),
    ),
    _f(
        "has_electronic_tag",
        "电子识读标志",
        "bool",
        "lpg_cylinder",
        aliases=("二维码", "电子标签", "有无二维码", "电子识读标志/二维码"),
    ),
    _f("filling_station", "充装站", "text", "lpg_cylinder", aliases=("充装单位", "所属充装站")),
    # sanitation_vehicle
    _f("plate_no", "车牌号", "text", "sanitation_vehicle", max_length=16, aliases=("号牌号码",)),
    _f(
        "vehicle_kind",
        "车辆类型",
        "enum",
        "sanitation_vehicle",
        choices={
            "compactor": ("压缩式垃圾车", "压缩车"),
            "sweeper": ("扫路车",),
            "washer": ("洗扫车",),
            "sprinkler": ("洒水车",),
            "other": ("其他",),
        },
        aliases=("车型", "车辆种类"),
    ),
    _f(
        "emission_stage",
        "排放标准",
        "int",
        "sanitation_vehicle",
        minimum=1,
        maximum=6,
        aliases=("排放阶段", "排放等级"),
    ),
    _f(
        "registered_on",
        "注册登记日期",
        "date",
        "sanitation_vehicle",
        aliases=("注册日期", "登记日期"),
    ),
    _f(
        "mileage_km",
        "累计行驶里程",
        "int",
        "sanitation_vehicle",
        unit="km",
        aliases=("行驶里程", "里程"),
    ),
    _f(
        "has_cargo_function",
        "有载货功能",
        "bool",
        "sanitation_vehicle",
        aliases=("是否有载货功能",),
    ),
]

ALL_FIELDS: list[FieldSpec] = COMMON + CATEGORY_FIELDS
FIELDS_BY_NAME: dict[str, FieldSpec] = {f.name: f for f in ALL_FIELDS}
CATEGORY_FIELD_NAMES: frozenset[str] = frozenset(f.name for f in CATEGORY_FIELDS)

# Fields whose enum codes differ by category: which codes each category may use.
CATEGORY_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("assessment_result", "elevator"): tuple(ASSESSMENT_ELEVATOR),
    ("assessment_result", "gas_pipe"): tuple(ASSESSMENT_GAS),
    ("efficiency_grade", "water_pump"): ("1", "2", "3", "below_limit"),
    ("efficiency_grade", "boiler"): ("1", "2", "3", "below_3"),
    ("fuel", "boiler"): ("coal", "gas", "oil", "biomass", "electric"),
    ("fuel", "sanitation_vehicle"): (
        "diesel",
        "gasoline",
        "natural_gas",
        "electric",
        "hybrid",
        "hydrogen",
    ),
}
CATEGORY_LABELS: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("assessment_result", "elevator"): ASSESSMENT_ELEVATOR,
    ("assessment_result", "gas_pipe"): ASSESSMENT_GAS,
}
"""Fields whose labels differ by category: the labels each category accepts and writes."""
CATEGORY_REQUIRED: dict[str, tuple[str, ...]] = {"lpg_cylinder": ("manufactured_on",)}


INT_MAX = 2**31 - 1
"""The largest value of an INTEGER column on PostgreSQL."""


def upper_bound(spec: FieldSpec) -> float | None:
    """A field's largest value: its own maximum, else INT_MAX for an int (a larger one cannot be
    stored and must be a 422, not a database error)."""
    if spec.maximum is not None:
        return spec.maximum
    return INT_MAX if spec.kind == "int" else None


def fields_for(category: str) -> list[FieldSpec]:
    """The spec's fields for one category, common fields first, in template order."""
    return [f for f in ALL_FIELDS if f.applies_to(category)]


def choices_for(spec: FieldSpec, category: str) -> tuple[str, ...]:
    """Enum codes a field accepts in a category."""
    return CATEGORY_CHOICES.get((spec.name, category), tuple(spec.choices))


def is_required(spec: FieldSpec, category: str) -> bool:
    return spec.required or spec.name in CATEGORY_REQUIRED.get(category, ())


def labels_for(spec: FieldSpec, category: str) -> dict[str, tuple[str, ...]]:
    """Enum code → labels (canonical Chinese label first) of a field in one category."""
    own = CATEGORY_LABELS.get((spec.name, category))
    if own is not None:
        return own
    return {code: spec.choices.get(code, ()) for code in choices_for(spec, category)}


def label_of(spec: FieldSpec, code: str, category: str | None = None) -> str:
    """The Chinese label written for an enum code (in its category when given)."""
    if spec.name == "category":
        return CATEGORIES.get(code, code)
    labels = labels_for(spec, category) if category else spec.choices
    return (labels.get(code) or (code,))[0]


def enum_index(spec: FieldSpec, category: str) -> dict[str, str]:
    """Normalised code or label → code, for the codes this category accepts: how district
    workbooks and API callers may write a value (合格 for an elevator's `safe`, YSP-5)."""
    index: dict[str, str] = {}
    for code, labels in labels_for(spec, category).items():
        for word in (code, *labels):
            index.setdefault(norm(word), code)
    return index
